namespace Dsoup.Engine.Checkpoints;

/// <summary>
/// A checkpoint file broke a rule of its format. The message names the file, the rule and what was
/// found, e.g. "a.safetensors: InvalidOffset: tensor 'w' starts at byte 16, the previous one ends at 24".
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string file, string rule, string detail, Exception? inner = null)
        : base($"{file}: {rule}: {detail}", inner)
    {
        File = file;
        Rule = rule;
    }

    public string File { get; }

    /// <summary>The rule that failed, named as the reference implementation names it where it has a name.</summary>
    public string Rule { get; }
}
