namespace Dsoup.Models.Evaluation;

/// <summary>
/// The mean of per-example differences between two models scored on the same problems (B − A), with its standard
/// error s/√n: pairing removes the variation between examples, so small differences are seen that two separate
/// means would hide. A model against itself gives exactly 0 ± 0.
/// </summary>
public readonly record struct PairedDifference(double Mean, double StandardError, int Count)
{
    public static PairedDifference Of(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        if (a.Count != b.Count)
        {
            throw new ArgumentException($"paired scores need the same examples; got {a.Count} and {b.Count}");
        }
        int n = a.Count;
        if (n == 0)
        {
            return new PairedDifference(0, 0, 0);
        }
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            mean += (double)b[i] - a[i];
        }
        mean /= n;
        double squares = 0;
        for (int i = 0; i < n; i++)
        {
            double d = (double)b[i] - a[i] - mean;
            squares += d * d;
        }
        double standardError = n > 1 ? Math.Sqrt(squares / (n - 1) / n) : 0;
        return new PairedDifference(mean, standardError, n);
    }

    /// <summary>True when B's scores are lower (better) than A's by more than <paramref name="tolerance"/> standard errors.</summary>
    public bool ImprovesBeyond(double tolerance) => Mean < 0 && -Mean > tolerance * StandardError;

    /// <summary>True when B's scores are higher (worse) than A's by more than <paramref name="tolerance"/> standard errors.</summary>
    public bool WorsensBeyond(double tolerance) => Mean > 0 && Mean > tolerance * StandardError;
}
