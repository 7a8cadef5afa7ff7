namespace Dsoup.Models.Soup;

/// <summary>
/// Which entries of a tensor are among its k largest by magnitude: every key above
/// <see cref="Threshold"/>, plus the first <see cref="KeepEqual"/> keys equal to it in index order.
/// </summary>
internal readonly record struct TopK(ulong Threshold, long KeepEqual, bool KeepAll, bool KeepNone);

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
    public static TopK Find(long count, long k, Action<Action<ReadOnlySpan<ulong>>> pass)
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
            ulong p = prefix;
            int f = fixedBits, s = shift;
            pass(keys =>
            {
                foreach (ulong key in keys)
                {
                    if (f == 0 || key >> (64 - f) == p >> (64 - f))
                    {
                        histogram[(key >> s) & 0xFFFF]++;
                    }
                }
            });
            long above = 0;
            int digit = 65535;
            for (; digit > 0 && above + histogram[digit] < remaining; digit--)
            {
                above += histogram[digit];
            }
            prefix |= (ulong)digit << shift;
            fixedBits += 16;
            remaining -= above;
            if (shift > 0 && histogram[digit] <= CollectLimit)
            {
                return Collect(prefix, fixedBits, remaining, pass);
            }
        }
        return new TopK(prefix, remaining, false, false);
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
        long greater = candidates.Count - candidates.LastIndexOf(threshold) - 1;
        return new TopK(threshold, remaining - greater, false, false);
    }
}
