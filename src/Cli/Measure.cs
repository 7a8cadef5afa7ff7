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
}
