using System.Text.RegularExpressions;

namespace Dsoup.Models.Soup;

/// <summary>
/// Include/exclude patterns on canonical tensor names ("unet.*", "*.attn2.*"): '*' matches any run of
/// characters, '?' one. A tensor is kept if it matches some include (or there are none) and no exclude.
/// </summary>
public sealed class TensorFilter(IReadOnlyList<string> include, IReadOnlyList<string> exclude)
{
    private readonly Regex[] includes = include.Select(Compile).ToArray();
    private readonly Regex[] excludes = exclude.Select(Compile).ToArray();

    public static TensorFilter All { get; } = new([], []);

    public IReadOnlyList<string> Include { get; } = include;

    public IReadOnlyList<string> Exclude { get; } = exclude;

    public bool Keeps(string name) =>
        (includes.Length == 0 || includes.Any(r => r.IsMatch(name))) && !excludes.Any(r => r.IsMatch(name));

    private static Regex Compile(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant);
}
