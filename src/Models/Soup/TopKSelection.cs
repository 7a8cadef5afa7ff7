namespace Dsoup.Models.Soup;

/// <summary>
/// Which entries of a tensor are among its k largest by magnitude: every key above
/// <see cref="Threshold"/>, plus the first <see cref="KeepEqual"/> of the <see cref="EqualCount"/> keys
/// equal to it, in index order.
/// </summary>
internal readonly record struct TopK(ulong Threshold, long KeepEqual, bool KeepAll, bool KeepNone, long EqualCount = 0)
{
    /// <summary>True when only some keys equal to the threshold are kept, so their positions decide which.</summary>
    public bool SplitsEqualKeys => !KeepAll && !KeepNone && KeepEqual > 0 && KeepEqual < EqualCount;
}

/// <summary>
/// Finds the k-th largest key of a tensor without holding the tensor: a radix selection over the
/// 64-bit keys (bits of non-negative doubles order like the values), 16 bits per pass, collecting the
/// remaining candidates into memory as soon as they are few. Each pass streams the tensor once.
/// </summary>
internal static class TopKSelection
{
    /// <summary>Candidates collected and sorted once a bucket holds at most this many keys.</summary>
    public const int CollectLimit = 1 << 20;

    /// <param name="count">Keys in the tensor.</param>
    /// <param name="k">How many to keep.</param>
    /// <param name="pass">Streams every key of the tensor, in blocks, through the given callback.</param>
    public static TopK Find(long count, long k, Action<Action<ReadOnlySpan<ulong>>> pass) =>
        Select(count, k,
            (prefix, fixedBits, shift, histogram) => pass(keys =>
            {
                foreach (ulong key in keys)
                {
                    if (fixedBits == 0 || key >> (64 - fixedBits) == prefix >> (64 - fixedBits))
                    {
                        histogram[(key >> shift) & 0xFFFF]++;
                    }
                }
            }),
            (prefix, fixedBits, remaining) => Collect(prefix, fixedBits, remaining, pass));

    /// <summary>
    /// The same selection from digit histograms computed elsewhere (on a GPU): <paramref name="histogram"/>(prefix,
    /// fixed bits, shift, bins) fills the bins with the counts of the keys whose top fixed bits match the prefix,
    /// by their 16-bit digit at the shift. All four digits are resolved this way, without a collecting pass.
    /// </summary>
    public static TopK FromHistograms(long count, long k, Action<ulong, int, int, long[]> histogram) =>
        Select(count, k, histogram, collect: null);

    private static TopK Select(long count, long k, Action<ulong, int, int, long[]> fill, Func<ulong, int, long, TopK>? collect)
    {
        if (k <= 0)
        {
            return new TopK(0, 0, false, true);
        }
        if (k >= count)
        {
            return new TopK(0, 0, true, false);
        }
        ulong prefix = 0;
        int fixedBits = 0;
        long remaining = k; // rank, from the top, among keys that start with the prefix
        var histogram = new long[65536];
        for (int shift = 48; shift >= 0; shift -= 16)
        {
            Array.Clear(histogram);
            fill(prefix, fixedBits, shift, histogram);
            long above = 0;
            int digit = 65535;
            for (; digit > 0 && above + histogram[digit] < remaining; digit--)
            {
                above += histogram[digit];
            }
            prefix |= (ulong)digit << shift;
            fixedBits += 16;
            remaining -= above;
            if (collect is not null && shift > 0 && histogram[digit] <= CollectLimit)
            {
                return collect(prefix, fixedBits, remaining);
            }
        }
        return new TopK(prefix, remaining, false, false, histogram[(int)(prefix & 0xFFFF)]); // the last pass counted the equal keys
    }

    private static TopK Collect(ulong prefix, int fixedBits, long remaining, Action<Action<ReadOnlySpan<ulong>>> pass)
    {
        var candidates = new List<ulong>();
        pass(keys =>
        {
            foreach (ulong key in keys)
            {
                if (key >> (64 - fixedBits) == prefix >> (64 - fixedBits))
                {
                    candidates.Add(key);
                }
            }
        });
        candidates.Sort();
        ulong threshold = candidates[^(int)remaining];
        int last = candidates.LastIndexOf(threshold);
        long greater = candidates.Count - last - 1;
        return new TopK(threshold, remaining - greater, false, false, last - candidates.IndexOf(threshold) + 1);
    }
}
