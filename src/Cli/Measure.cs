using System.Diagnostics;

namespace Dsoup.Cli;

/// <summary>Repeated timings summarised by their median, as the benchmarks report them on shared, noisy machines.</summary>
internal static class Measure
{
    public static double MedianSeconds(int repeat, Action run)
    {
        var times = new List<double>();
        for (int i = 0; i < repeat; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
    }

    /// <summary>Reads a file start to end in 8 MiB blocks and discards the bytes: the ceiling a streaming job can reach.</summary>
    public static long ReadWholeFile(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var buffer = new byte[8 << 20];
        long offset = 0;
        int read;
        while ((read = RandomAccess.Read(handle, buffer, offset)) > 0)
        {
            offset += read;
        }
        return offset;
    }
}
