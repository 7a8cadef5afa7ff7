using ILGPU;

namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>
/// TIES-merging of one tensor held whole on the device (formula in Dsoup.Models.Soup.SoupMethod.Ties).
/// Sources (the N inputs, then the base) share one buffer, seen through a view per element width, each
/// at its own element offset with its own type code. Task-vector entries τ = θᵢ − θ₀ are computed in
/// f64 from exactly decoded values, in the same order as the CPU merger, so both give the same bits.
/// A source's keep rule is: key &gt; threshold, or key = threshold and index &lt; cutoff (ties kept by position).
/// </summary>
public static class TiesKernels
{
    /// <summary>Where one input and the base lie in the source views, and the tensor's element count.</summary>
    public struct Pair
    {
        public long InputOffset;
        public int InputType;
        public long BaseOffset;
        public int BaseType;
        public long Count;

        internal readonly double Tau(long e, ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles) =>
            MergeValues.Load(InputType, InputOffset, e, halves, singles, doubles) - MergeValues.Load(BaseType, BaseOffset, e, halves, singles, doubles);
    }

    /// <summary>The scalars of <see cref="Merge"/>.</summary>
    public struct MergeShape
    {
        public int Inputs;
        public long Count;
        public double Lambda;
        public int OutputType;

        /// <summary>Zero at run time. XOR-ing a product's bits with it, a value the compiler cannot know, keeps the product rounded on its own.</summary>
        public ulong Opaque;
    }

    /// <summary>Counts keys |θᵢ − θ₀| whose fixed high bits equal <paramref name="prefix"/>, by their 16-bit digit at <paramref name="shift"/>.</summary>
    [GpuKernel]
    public static void KeyHistogram(ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles, Pair pair,
        ulong prefix, ulong prefixMask, int shift, ArrayView<long> histogram)
    {
        for (long e = Grid.GlobalIndex.X; e < pair.Count; e += (long)Grid.DimX * Group.DimX)
        {
            ulong key = MergeValues.MagnitudeKey(pair.Tau(e, halves, singles, doubles));
            if ((key & prefixMask) == prefix)
            {
                Atomic.Add(ref histogram[(long)((key >> shift) & 0xFFFF)], 1L);
            }
        }
    }

    /// <summary>Per segment of <paramref name="segment"/> elements, how many keys equal <paramref name="threshold"/> (one thread a segment).</summary>
    [GpuKernel]
    public static void CountEqual(ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles, Pair pair,
        ulong threshold, int segment, ArrayView<long> counts)
    {
        long count = pair.Count, segments = (count + segment - 1) / segment;
        for (long s = Grid.GlobalIndex.X; s < segments; s += (long)Grid.DimX * Group.DimX)
        {
            long equal = 0, end = s * segment + segment < count ? s * segment + segment : count;
            for (long e = s * segment; e < end; e++)
            {
                if (MergeValues.MagnitudeKey(pair.Tau(e, halves, singles, doubles)) == threshold)
                {
                    equal++;
                }
            }
            counts[s] = equal;
        }
    }

    /// <summary>
    /// θ = θ₀ + λ · Σ wᵢ τ̂ᵢ [sign τ̂ᵢ = γ] / Σ wᵢ [sign τ̂ᵢ = γ], γ = sign Σ τ̂ᵢ (0 → +), rounded to the
    /// output type. Per source (inputs, then the base): offsets[s], types[s]; per input: weights, thresholds, cutoffs.
    /// A source holding NaN or an infinity sets its flag in <paramref name="nonFinite"/> (the result is then void).
    /// </summary>
    [GpuKernel]
    public static void Merge(ArrayView<ushort> halves, ArrayView<float> singles, ArrayView<double> doubles,
        ArrayView<long> offsets, ArrayView<int> types, ArrayView<double> weights, ArrayView<ulong> thresholds, ArrayView<long> cutoffs, MergeShape shape,
        ArrayView<ushort> outputHalves, ArrayView<float> outputSingles, ArrayView<double> outputDoubles, ArrayView<int> nonFinite)
    {
        int inputs = shape.Inputs;
        for (long e = Grid.GlobalIndex.X; e < shape.Count; e += (long)Grid.DimX * Group.DimX)
        {
            double theta = MergeValues.Load(types[inputs], offsets[inputs], e, halves, singles, doubles);
            if (MergeValues.IsNonFinite(theta))
            {
                nonFinite[inputs] = 1;
            }
            double mass = 0;
            for (int i = 0; i < inputs; i++)
            {
                double x = MergeValues.Load(types[i], offsets[i], e, halves, singles, doubles);
                if (MergeValues.IsNonFinite(x))
                {
                    nonFinite[i] = 1;
                }
                mass += Trimmed(x - theta, e, thresholds[i], cutoffs[i]);
            }
            double sign = mass >= 0 ? 1 : -1;
            double numerator = 0, denominator = 0;
            for (int i = 0; i < inputs; i++)
            {
                double trimmed = Trimmed(MergeValues.Load(types[i], offsets[i], e, halves, singles, doubles) - theta, e, thresholds[i], cutoffs[i]);
                if (trimmed != 0 && (trimmed > 0 ? 1.0 : -1.0) == sign)
                {
                    numerator += Rounded(weights[i] * trimmed, shape.Opaque);
                    denominator += weights[i];
                }
            }
            double merged = theta + Rounded(shape.Lambda * (denominator != 0 ? numerator / denominator : 0), shape.Opaque);
            MergeValues.Store(shape.OutputType, e, merged, outputHalves, outputSingles, outputDoubles);
        }
    }

    private static double Trimmed(double tau, long index, ulong threshold, long cutoff)
    {
        ulong key = MergeValues.MagnitudeKey(tau);
        return key > threshold || (key == threshold && index < cutoff) ? tau : 0;
    }

    /// <summary>
    /// A product kept rounded on its own, as the CPU merger computes it: PTX's plain mul.f64 and add.f64
    /// (what ILGPU emits) may be fused into one fma by the driver's compiler, which would round once
    /// instead of twice. An XOR with a run-time zero is opaque to that contraction.
    /// </summary>
    private static double Rounded(double product, ulong opaque) => Interop.IntAsFloat(Interop.FloatAsInt(product) ^ opaque);
}
