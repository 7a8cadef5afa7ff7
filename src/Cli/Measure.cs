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

    /// <summary>
    /// Read rate of the given checkpoints' files (bytes/s), sampling at most <paramref name="limit"/> bytes:
    /// the ceiling a streaming job over them can reach in their current page-cache state.
    /// </summary>
    public static double ReadCeiling(IEnumerable<string> paths, long limit)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*.safetensors", SearchOption.AllDirectories) : [p]).ToList();
        var buffer = new byte[8 << 20];
        long done = 0;
        var clock = Stopwatch.StartNew();
        foreach (string file in files)
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            for (long offset = 0; done < limit; )
            {
                int read = RandomAccess.Read(handle, buffer, offset);
                if (read <= 0)
                {
                    break;
                }
                offset += read;
                done += read;
            }
        }
        return done / Math.Max(1e-6, clock.Elapsed.TotalSeconds);
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
