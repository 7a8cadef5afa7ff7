using System.CommandLine;
using Dsoup.Models.Data;
using Dsoup.Models.Evaluation;
using Dsoup.Models.Pipelines;

namespace Dsoup.Cli.Commands;

/// <summary>The options that say what models are scored on (dsoup eval, dsoup soup --greedy): held-out data, resolution, draws and their seed.</summary>
internal sealed class HeldOutData
{
    private readonly Option<string?> data;
    private readonly Option<int> resolution = new("--resolution") { Description = "Square resolution the images are scored at.", DefaultValueFactory = _ => 64 };
    private readonly Option<int> draws = new("--draws") { Description = "Fixed (timestep, noise) draws per image.", DefaultValueFactory = _ => 4 };
    private readonly Option<ulong> seed = new("--eval-seed") { Description = "Seed of the draws (the same seed gives the same problems to every model).", DefaultValueFactory = _ => 1234 };
    private readonly Option<int> limit = new("--limit") { Description = "Score only the first N examples (0: all).", DefaultValueFactory = _ => 0 };
    private readonly Option<string?> tokenizer = Choices.Tokenizer();

    public HeldOutData(string description, bool required)
    {
        data = new Option<string?>("--data") { Description = description, Required = required };
    }

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { data, resolution, draws, seed, limit, tokenizer })
        {
            command.Options.Add(option);
        }
    }

    public bool Given(ParseResult result) => result.GetValue(data) is not null;

    /// <summary>The data spec, its examples (after --limit), the scoring settings and how to load the models.</summary>
    public (string Spec, IReadOnlyList<TrainingExample> Examples, LossSettings Settings, ModelLoadOptions Load) Read(ParseResult result, CliContext context)
    {
        string spec = result.GetValue(data) ?? throw new ArgumentException("--data: name the held-out data the models are scored on");
        var settings = new LossSettings(result.GetValue(resolution), result.GetValue(draws), result.GetValue(seed));
        if (settings.Resolution < 8 || settings.Resolution % 8 != 0 || settings.Draws < 1 || result.GetValue(limit) < 0)
        {
            throw new ArgumentException($"--resolution must be a positive multiple of 8, --draws at least 1 and --limit non-negative; got {settings.Resolution}, {settings.Draws}, {result.GetValue(limit)}");
        }
        IReadOnlyList<TrainingExample> examples = Datasets.Open(spec);
        if (result.GetValue(limit) is > 0 and int n && n < examples.Count)
        {
            examples = examples.Take(n).ToList();
        }
        if (examples.Count == 0)
        {
            throw new InvalidDataException($"--data {spec}: no examples to score on");
        }
        return (spec, examples, settings, new ModelLoadOptions { Device = context.Device(result), TokenizerFolder = result.GetValue(tokenizer) });
    }
}
