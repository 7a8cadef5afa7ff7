using System.CommandLine;
using Dsoup.Cli.Commands;

namespace Dsoup.Cli;

/// <summary>Builds the dsoup command tree and runs it against the given output streams (tests pass their own).</summary>
public static class DsoupApp
{
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false) =>
        Root(new CliContext(output, error, interactive)).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });

    /// <summary>What the command line would say is wrong with <paramref name="args"/>, without running anything (docs check their examples).</summary>
    public static IReadOnlyList<string> ParseErrors(string[] args) =>
        Root(new CliContext(TextWriter.Null, TextWriter.Null, false)).Parse(args).Errors.Select(e => e.Message).ToList();

    private static RootCommand Root(CliContext context)
    {
        var root = new RootCommand(
            "dsoup: a .NET engine that fine-tunes, merges (\"Diffusion Soup\") and samples Stable Diffusion models, with no Python.")
        {
            CliContext.DeviceOption,
        };
        root.Subcommands.Add(DemoCommand.Create(context));
        root.Subcommands.Add(SampleCommand.Create(context));
        root.Subcommands.Add(TokenizeCommand.Create(context));
        root.Subcommands.Add(TrainCommand.Create(context));
        root.Subcommands.Add(EvalCommand.Create(context));
        root.Subcommands.Add(InspectCommand.Create(context));
        root.Subcommands.Add(ConvertCommand.Create(context));
        root.Subcommands.Add(SoupCommand.Create(context));
        root.Subcommands.Add(LoraCommand.Create(context));
        root.Subcommands.Add(SynthesizeCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(DevicesCommand.Create(context));
        return root;
    }
}
