namespace Dsoup.Models.Soup;

/// <summary>DARE's drop mask, for callers that reproduce a DARE soup (tests, reports).</summary>
public static class LinearMergerAccess
{
    /// <summary>True when element <paramref name="index"/> of input <paramref name="input"/> survives the drop.</summary>
    public static bool Keeps(ulong seed, uint nameHash, int input, long index, double dropRate) =>
        LinearMerger.Keeps(seed, nameHash, input, index, dropRate);
}
