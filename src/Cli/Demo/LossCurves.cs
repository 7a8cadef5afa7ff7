using System.Globalization;

namespace Dsoup.Cli.Demo;

/// <summary>Plots training runs' loss.csv files (running mean over 20 steps) into one PNG with ScottPlot.</summary>
internal static class LossCurves
{
    private const int Window = 20;

    public static void Save(string path, IReadOnlyList<(string Name, string LossCsv)> runs)
    {
        var plot = new ScottPlot.Plot();
        foreach ((string name, string csv) in runs)
        {
            var rows = File.ReadLines(csv).Skip(1).Select(line => line.Split(','))
                .Select(f => (Step: double.Parse(f[0], CultureInfo.InvariantCulture), Loss: double.Parse(f[1], CultureInfo.InvariantCulture))).ToList();
            if (rows.Count == 0)
            {
                continue;
            }
            double[] steps = rows.Select(r => r.Step).ToArray();
            double[] smoothed = rows.Select((_, i) => rows.Skip(Math.Max(0, i - Window + 1)).Take(Math.Min(Window, i + 1)).Average(r => r.Loss)).ToArray();
            var line = plot.Add.Scatter(steps, smoothed);
            line.LegendText = name;
            line.MarkerSize = 0;
        }
        plot.XLabel("step");
        plot.YLabel("training loss (running mean)");
        plot.ShowLegend();
        plot.SavePng(path, 900, 500);
    }
}
