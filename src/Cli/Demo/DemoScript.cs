using System.Diagnostics;
using System.Globalization;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Cli.Demo;

/// <summary>
/// What the demos share: they run dsoup commands as a user would type them (printed first, paths relative to the
/// demo folder), in numbered stages whose durations are shown and kept, and check the claims they make.
/// </summary>
internal abstract class DemoScript(CliContext context, string folder)
{
    private readonly Stopwatch stageClock = new();
    private string? stage;

    protected CliContext Context => context;

    protected string Folder => folder;

    /// <summary>Each finished stage and how long it took.</summary>
    public List<(string Stage, TimeSpan Duration)> Stages { get; } = [];

    public abstract void Run();

    protected string F(string name) => Path.Combine(folder, name);

    /// <summary>Ends the current stage (recording its time) and starts the next.</summary>
    protected void Stage(string title)
    {
        EndStage();
        stage = title;
        stageClock.Restart();
        context.Output.WriteLine();
        context.Output.WriteLine($"== {title}");
    }

    protected void EndStage()
    {
        if (stage is null)
        {
            return;
        }
        Stages.Add((stage, stageClock.Elapsed));
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   ({stageClock.Elapsed.TotalSeconds:F1} s)"));
        stage = null;
    }

    /// <summary>Runs one dsoup command, printing it first; a failure stops the demo.</summary>
    protected void Dsoup(params string[] args) => Invoke(args, context.Output);

    /// <summary>Runs one dsoup command and returns what it printed on standard output (e.g. its --json).</summary>
    protected string DsoupOutput(params string[] args)
    {
        var output = new StringWriter();
        Invoke(args, output);
        return output.ToString();
    }

    protected void Check(bool holds, string claim)
    {
        if (!holds)
        {
            throw new InvalidOperationException($"demo check failed: {claim}");
        }
        context.Output.WriteLine($"   ✓ {claim}");
    }

    /// <summary>True when both files hold the same tensors with the same bytes (metadata may differ).</summary>
    protected static bool SameTensorBytes(string a, string b)
    {
        using ICheckpointReader first = CheckpointFiles.Open(a);
        using ICheckpointReader second = CheckpointFiles.Open(b);
        var other = second.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return first.Tensors.Count == other.Count && first.Tensors.All(t =>
            other.TryGetValue(t.Name, out TensorEntry? u) && u.Type == t.Type && u.Shape.SequenceEqual(t.Shape)
            && t.Bytes(0, checked((int)t.ByteLength)).SequenceEqual(u.Bytes(0, checked((int)u.ByteLength))));
    }

    private void Invoke(string[] args, TextWriter output)
    {
        string shown = "dsoup " + string.Join(' ', args.Select(Shorten));
        context.Output.WriteLine("$ " + shown);
        int code = DsoupApp.Run(args, output, context.Error, context.Interactive);
        if (code != 0)
        {
            throw new InvalidOperationException($"demo step '{shown}' failed (exit {code})");
        }
    }

    private string Shorten(string arg) => arg.StartsWith(folder, StringComparison.Ordinal) ? Path.GetRelativePath(folder, arg) : arg;
}
