namespace Dsoup.Models.Schedulers;

/// <summary>
/// The training noise schedule, in f32 as diffusers computes it: β from torch.linspace (scaled_linear:
/// of √β, squared), ᾱ the running product of 1 − β (accumulated in f64, as torch.cumprod does), and σ = √((1 − ᾱ)/ᾱ).
/// </summary>
public sealed class NoiseSchedule
{
    public NoiseSchedule(SchedulerConfig config)
    {
        int n = config.TrainTimesteps;
        float[] betas = config.BetaSchedule switch
        {
            "scaled_linear" => TorchLinspace((float)Math.Sqrt(config.BetaStart), (float)Math.Sqrt(config.BetaEnd), n).Select(b => b * b).ToArray(),
            "linear" => TorchLinspace((float)config.BetaStart, (float)config.BetaEnd, n),
            _ => throw new NotSupportedException($"beta_schedule '{config.BetaSchedule}' is not supported (scaled_linear or linear)"),
        };
        AlphasCumprod = new float[n];
        // torch.cumprod on the CPU accumulates f32 in f64 and rounds each partial product.
        double product = 1;
        for (int t = 0; t < n; t++)
        {
            product *= 1f - betas[t];
            AlphasCumprod[t] = (float)product;
        }
        Sigmas = AlphasCumprod.Select(a => MathF.Sqrt((1 - a) / a)).ToArray();
    }

    /// <summary>ᾱ_t for t = 0 … N−1.</summary>
    public float[] AlphasCumprod { get; }

    /// <summary>σ_t = √((1 − ᾱ_t)/ᾱ_t), increasing with t.</summary>
    public float[] Sigmas { get; }

    /// <summary>x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε (the forward process; DDPM's add_noise).</summary>
    public void AddNoise(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, int timestep, Span<float> result)
    {
        float a = MathF.Sqrt(AlphasCumprod[timestep]), b = MathF.Sqrt(1 - AlphasCumprod[timestep]);
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = a * original[i] + b * noise[i];
        }
    }

    /// <summary>v_t = √ᾱ_t·ε − √(1 − ᾱ_t)·x0 (the v-prediction target).</summary>
    public void Velocity(ReadOnlySpan<float> original, ReadOnlySpan<float> noise, int timestep, Span<float> result)
    {
        float a = MathF.Sqrt(AlphasCumprod[timestep]), b = MathF.Sqrt(1 - AlphasCumprod[timestep]);
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = a * noise[i] - b * original[i];
        }
    }

    /// <summary>
    /// torch.linspace in f32 as its x86 CPU kernel computes it (AVX2 vectors of 8, two per loop, then single
    /// elements): each vector starts at fma(step, i, start) in the first half, or fma(−step, n − 1 − i, end) in
    /// the second, and its lanes add j·step. Bit-identical to PyTorch's table, so the σ and timesteps derived
    /// from it are too.
    /// </summary>
    private static float[] TorchLinspace(float start, float end, int n)
    {
        const int Lanes = 8;
        var values = new float[n];
        float step = (end - start) / (n - 1);
        int halfway = n / 2;
        float At(int i) => i < halfway ? MathF.FusedMultiplyAdd(step, i, start) : MathF.FusedMultiplyAdd(-step, n - 1 - i, end);
        int vectorised = n / (2 * Lanes) * (2 * Lanes);
        for (int i = 0; i < vectorised; i += Lanes)
        {
            float first = At(i);
            for (int j = 0; j < Lanes; j++)
            {
                values[i + j] = first + j * step;
            }
        }
        for (int i = vectorised; i < n; i++)
        {
            values[i] = At(i);
        }
        return values;
    }
}
