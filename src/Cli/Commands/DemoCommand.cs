using System.CommandLine;
using System.Globalization;
using Dsoup.Cli.Demo;

namespace Dsoup.Cli.Commands;

/// <summary>
/// dsoup demo: the Diffusion Soup workflow end to end on data that ships with dsoup (or Fashion-MNIST) — a small
/// latent-diffusion model built from scratch, specialists per shard, the paragon, soups, unlearning, evaluation and
/// a report; or, with --merge-tour, the quick tour of the merge engine on synthetic stand-ins.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(CliContext context)
    {
        var keep = new Option<string?>("--keep") { Description = "Write the demo's files (models, report, images) into this folder and keep them (default: a temporary folder, removed at the end)." };
        var data = new Option<string>("--data") { Description = "embedded (shapes drawn by dsoup, 4 shards by shape) or fashion-mnist (5 shards by class pairs).", DefaultValueFactory = _ => "embedded" };
        data.AcceptOnlyFromAmong("embedded", "fashion-mnist");
        var quick = new Option<bool>("--quick") { Description = "A few steps per stage: checks the workflow runs, not what it finds (tests use it)." };
        var mergeTour = new Option<bool>("--merge-tour") { Description = "Instead: the merge engine's tour on synthetic fine-tunes (plan, exact soup, unlearning bit for bit, TIES, LoRAs), in seconds." };
        var command = new Command("demo",
            "Run the Diffusion Soup workflow end to end on CPU-sized data: train a small latent-diffusion model from scratch, fine-tune one specialist per " +
            "shard and a paragon on their union, soup them (uniform and greedy), unlearn each shard, evaluate every model (held-out loss, classifier-based " +
            "image metrics, memorization, weight change) and write report.md. Prints each dsoup command it runs.")
        {
            keep, data, quick, mergeTour,
        };
        command.SetAction(result => context.Run(() =>
        {
            string? kept = result.GetValue(keep);
            string folder = kept ?? Directory.CreateTempSubdirectory("dsoup-demo-").FullName;
            Directory.CreateDirectory(folder);
            try
            {
                DemoScript demo = result.GetValue(mergeTour)
                    ? new MergeTour(context, folder)
                    : new SoupWorkflow(context, folder, WorkflowSettings.For(result.GetValue(data)!, result.GetValue(quick)), context.Device(result));
                demo.Run();
                context.Output.WriteLine();
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stages: {string.Join(", ", demo.Stages.Select(s => $"{s.Stage.Split('.')[0]} {s.Duration.TotalSeconds:F0} s"))}"));
                context.Output.WriteLine(kept is null ? "demo finished; its files were temporary (use --keep DIR to keep them)" : $"demo finished; files in {folder}");
                return 0;
            }
            finally
            {
                if (kept is null)
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }));
        return command;
    }
}
