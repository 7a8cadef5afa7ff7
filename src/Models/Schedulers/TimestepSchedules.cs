namespace Dsoup.Models.Schedulers;

/// <summary>
/// The spacings of inference timesteps over the training ones (arXiv 2305.08891, Table 2) and the σ
/// tables built on them, computed as diffusers' schedulers do (numpy in f64 over f32 tables).
/// </summary>
internal static class TimestepSchedules
{
    /// <summary>DDIM, PNDM and Euler's timesteps, first to last: leading (+ offset), trailing, or linspace.</summary>
    public static double[] Spaced(TimestepSpacing spacing, int steps, int train, int offset) => spacing switch
    {
        TimestepSpacing.Leading => Enumerable.Range(0, steps).Select(i => (double)(i * (train / steps) + offset)).Reverse().ToArray(),
        TimestepSpacing.Trailing => Arange(train, 0, -(double)train / steps).Select(t => Math.Round(t) - 1).ToArray(),
        _ => Linspace(0, train - 1, steps).Reverse().ToArray(),
    };

    /// <summary>DPM-Solver's own variant: n + 1 points with the last dropped.</summary>
    public static double[] SpacedForDpm(TimestepSpacing spacing, int steps, int train, int offset) => spacing switch
    {
        TimestepSpacing.Leading => Enumerable.Range(0, steps + 1).Select(i => (double)(i * (train / (steps + 1)))).Reverse().Take(steps).Select(t => t + offset).ToArray(),
        TimestepSpacing.Trailing => Arange(train, 0, -(double)train / steps).Select(t => Math.Round(t) - 1).ToArray(),
        _ => Linspace(0, train - 1, steps + 1).Select(t => Math.Round(t)).Reverse().Take(steps).ToArray(),
    };

    /// <summary>np.interp of σ over integer timesteps at <paramref name="timesteps"/>.</summary>
    public static double[] Interpolate(IReadOnlyList<double> timesteps, float[] sigmas) =>
        timesteps.Select(t =>
        {
            int low = Math.Clamp((int)Math.Floor(t), 0, sigmas.Length - 1);
            int high = Math.Min(low + 1, sigmas.Length - 1);
            double w = t - low;
            return high == low ? sigmas[low] : sigmas[low] + w * ((double)sigmas[high] - sigmas[low]);
        }).ToArray();

    /// <summary>Karras et al. (2022): σ from σ_max to σ_min evenly in σ^(1/7).</summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int steps)
    {
        const double rho = 7.0;
        double minInvRho = Math.Pow(sigmaMin, 1 / rho), maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        return Linspace(0, 1, steps).Select(ramp => Math.Pow(maxInvRho + ramp * (minInvRho - maxInvRho), rho)).ToArray();
    }

    /// <summary>The fractional timestep of σ by linear interpolation in log σ between the two bracketing training σ.</summary>
    public static double SigmaToTimestep(double sigma, float[] sigmas)
    {
        double logSigma = Math.Log(Math.Max(sigma, 1e-10));
        // The last index whose log σ is at or below it, kept below the end so a bracket exists.
        int low = 0;
        for (int i = 0; i < sigmas.Length; i++)
        {
            if (logSigma - MathF.Log(sigmas[i]) >= 0)
            {
                low = i;
            }
        }
        low = Math.Min(low, sigmas.Length - 2);
        double lowLog = MathF.Log(sigmas[low]), highLog = MathF.Log(sigmas[low + 1]);
        double w = Math.Clamp((lowLog - logSigma) / (lowLog - highLog), 0, 1);
        return (1 - w) * low + w * (low + 1);
    }

    /// <summary>np.linspace(start, stop, n).</summary>
    public static double[] Linspace(double start, double stop, int n)
    {
        if (n == 1)
        {
            return [start];
        }
        double step = (stop - start) / (n - 1);
        var values = new double[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = start + i * step;
        }
        values[n - 1] = stop;
        return values;
    }

    /// <summary>np.arange(start, stop, step) for a negative step.</summary>
    private static IEnumerable<double> Arange(double start, double stop, double step)
    {
        int count = (int)Math.Ceiling((stop - start) / step);
        for (int i = 0; i < count; i++)
        {
            yield return start + i * step;
        }
    }
}
