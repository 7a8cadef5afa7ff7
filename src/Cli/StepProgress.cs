using System.Globalization;
using Dsoup.Models.Pipelines;

namespace Dsoup.Cli;

/// <summary>A sampling progress bar on stderr: steps done, it/s and ETA; redrawn in place on a terminal, a line per step otherwise.</summary>
internal sealed class StepProgress(TextWriter output, bool interactive, string label) : IProgress<SamplingProgress>
{
    private const int Width = 30;

    public void Report(SamplingProgress p)
    {
        double seconds = p.Elapsed.TotalSeconds;
        double rate = p.Step / Math.Max(1e-9, seconds);
        double eta = (p.Steps - p.Step) / Math.Max(1e-9, rate);
        int filled = (int)Math.Round(Width * (double)p.Step / Math.Max(1, p.Steps));
        string bar = new string('█', filled) + new string('░', Width - filled);
        string speed = rate >= 1 ? $"{rate:F2} it/s" : $"{1 / rate:F2} s/it";
        string line = string.Create(CultureInfo.InvariantCulture, $"{label} ▕{bar}▏ {p.Step}/{p.Steps} {speed} ETA {eta:F0}s");
        if (interactive)
        {
            output.Write("\r" + line + (p.Step == p.Steps ? "\n" : ""));
        }
        else
        {
            output.WriteLine(line);
        }
        output.Flush();
    }
}
