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
            times.Add(Seconds(run));
        }
        return Median(times);
    }

    public static double Seconds(Action run)
    {
        var clock = Stopwatch.StartNew();
        run();
        return clock.Elapsed.TotalSeconds;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
