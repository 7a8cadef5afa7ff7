using System.Diagnostics;

namespace Dsoup.Cli;

/// <summary>
/// Progress of a byte-counted job on stderr: percentage, bytes, throughput and ETA. On a terminal the
/// line redraws in place a few times a second; when stderr is redirected a line is printed every few seconds.
/// </summary>
internal sealed class ByteProgress : IProgress<long>
{
    /// <summary>Below these a job's share of the read ceiling is start-up cost, not throughput.</summary>
    private const long MeaningfulBytes = 64L << 20;
    private const double MeaningfulSeconds = 1.0;

    private readonly string label;
    private readonly long total;
    private readonly TextWriter output;
    private readonly bool interactive;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private readonly double ceiling;
    private long done;
    private double lastDraw = double.NegativeInfinity;

    public ByteProgress(string label, long total, TextWriter output, bool interactive, double ceiling = 0)
    {
        this.ceiling = ceiling;
        this.label = label;
        this.total = Math.Max(1, total);
        this.output = output;
        this.interactive = interactive;
    }

    public long Done => Interlocked.Read(ref done);

    public double Seconds => clock.Elapsed.TotalSeconds;

    public double BytesPerSecond => Done / Math.Max(1e-9, Seconds);

    /// <summary>Whether the share of the read ceiling means something yet (a tiny job's share reads as a fault).</summary>
    public bool ShowsCeiling => ceiling > 0 && Done >= MeaningfulBytes && Seconds >= MeaningfulSeconds;

    public void Report(long bytes)
    {
        Interlocked.Add(ref done, bytes);
        double now = clock.Elapsed.TotalSeconds;
        if (now - lastDraw < (interactive ? 0.2 : 5.0))
        {
            return;
        }
        lock (gate)
        {
            lastDraw = now;
            Draw(final: false);
        }
    }

    public void Finish()
    {
        lock (gate)
        {
            Draw(final: true);
        }
    }

    private void Draw(bool final)
    {
        long d = Done;
        double rate = BytesPerSecond;
        string eta = final ? $"in {Seconds:F1} s" : $"ETA {TimeSpan.FromSeconds(Math.Max(0, (total - d) / Math.Max(1, rate))):m\\:ss}";
        string versus = ShowsCeiling ? $" ({100 * rate / ceiling:F0}% of the read ceiling)" : "";
        string line = $"{label} {100.0 * d / total,5:F1}%  {Units.Bytes(d)} / {Units.Bytes(total)}  {Units.Bytes((long)rate)}/s{versus}  {eta}";
        if (interactive)
        {
            output.Write("\r" + line.PadRight(78) + (final ? "\n" : ""));
        }
        else
        {
            output.WriteLine(line);
        }
    }
}
