using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine.Optim;

/// <summary>An f32 shadow copy of parameters: shadow ← decay·shadow + (1 − decay)·parameter, on their device.</summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly (Tensor Parameter, Tensor Shadow)[] pairs;

    public ExponentialMovingAverage(IEnumerable<Tensor> parameters, float decay = 0.9999f)
    {
        if (decay is < 0f or > 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "the EMA decay must lie in [0, 1]");
        }
        Decay = decay;
        pairs = parameters.Select(p =>
        {
            using Tensor wide = Ops.Convert(p, DType.F32);
            return (p, wide.Persist());
        }).ToArray();
    }

    public float Decay { get; }

    /// <summary>The averaged weights, in the order the parameters were given.</summary>
    public IReadOnlyList<Tensor> Shadows => pairs.Select(p => p.Shadow).ToArray();

    public void Update() => Update(Decay);

    /// <summary>One update with a decay of its own (diffusers' EMAModel warms it up: 0, then (1 + k)/(10 + k) up to the maximum).</summary>
    public void Update(float decay)
    {
        foreach ((Tensor parameter, Tensor shadow) in pairs)
        {
            IBackend backend = shadow.Device.Backend;
            using Tensor wide = Ops.Convert(parameter, DType.F32);
            backend.Scale(DType.F32, decay, shadow.View, shadow.View, shadow.Count);
            backend.Axpy(DType.F32, 1f - decay, wide.View, shadow.View, shadow.View, shadow.Count);
        }
    }

    /// <summary>diffusers' EMAModel decay at its <paramref name="update"/>-th update (1-based): 0 first (a copy), then min(max, (1 + k)/(10 + k)) with k = update − 1.</summary>
    public static float WarmupDecay(int update, float maximum)
    {
        int k = update - 1;
        return k <= 0 ? 0f : Math.Min(maximum, (1f + k) / (10f + k));
    }

    public void Dispose()
    {
        foreach ((_, Tensor shadow) in pairs)
        {
            shadow.Dispose();
        }
    }
}
