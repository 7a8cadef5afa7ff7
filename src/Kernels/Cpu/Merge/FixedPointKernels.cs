using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Kernels.Cpu.Merge;

/// <summary>
/// The hot loops of exact soups, vectorised. f16 values are integer multiples of 2^−24, so they are
/// summed straight from their bits with a fixed exponent of −24 (no scan, no float conversion). Means
/// are rounded through f64/f32 with a test that catches every case where that could differ from exact
/// rounding (the f32 value lands on a rounding midpoint of the target), which then goes the exact way.
/// </summary>
public static class FixedPointKernels
{
    /// <summary>The fixed-point exponent every f16 value fits.</summary>
    public const int F16Exponent = -24;

    /// <summary>sums[i] += weight · value(bits[i]) · 2^24. Returns false (sums undefined) if a value is NaN or infinite.</summary>
    public static bool AccumulateF16(ReadOnlySpan<ushort> bits, Span<long> sums, long weight)
    {
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Avx512F.IsSupported && bits.Length >= 8)
        {
            ref ushort source = ref MemoryMarshal.GetReference(bits);
            ref long target = ref MemoryMarshal.GetReference(sums);
            Vector512<ulong> nonFinite = Vector512<ulong>.Zero;
            var w = Vector512.Create(weight);
            for (; i + 8 <= bits.Length; i += 8)
            {
                Vector512<ulong> x = Avx512F.ConvertToVector512UInt64(Vector128.LoadUnsafe(ref source, (nuint)i));
                Vector512<ulong> e = (x >> 10) & Vector512.Create(31UL);
                Vector512<ulong> normal = Vector512.GreaterThan(e, Vector512<ulong>.Zero);
                // value · 2^24 = significand << max(e − 1, 0), the significand carrying the implicit bit when normal.
                Vector512<ulong> significand = (x & Vector512.Create(1023UL)) | (normal & Vector512.Create(1024UL));
                Vector512<long> magnitude = Avx512F.ShiftLeftLogicalVariable(significand, e - (normal & Vector512<ulong>.One)).AsInt64();
                Vector512<long> value = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(0x7FFFUL)).AsInt64(), -magnitude, magnitude);
                nonFinite |= Vector512.Equals(e, Vector512.Create(31UL));
                Vector512<long> acc = Vector512.LoadUnsafe(ref target, (nuint)i);
                (weight == 1 ? acc + value : acc + value * w).StoreUnsafe(ref target, (nuint)i);
            }
            if (nonFinite != Vector512<ulong>.Zero)
            {
                return false;
            }
        }
        for (; i < bits.Length; i++)
        {
            int x = bits[i], e = (x >> 10) & 31, m = x & 1023;
            if (e == 31)
            {
                return false;
            }
            long magnitude = e == 0 ? m : (long)(m | 1024) << (e - 1);
            sums[i] += weight * ((x & 0x8000) != 0 ? -magnitude : magnitude);
        }
        return true;
    }

    /// <summary>The largest exponent field (0–31) among f16 values: bounds their magnitude below 2^(field − 14).</summary>
    public static int MaxF16ExponentField(ReadOnlySpan<ushort> bits)
    {
        int i = 0, max = 0;
        if (MergeKernelPaths.VectorsAllowed && Vector512.IsHardwareAccelerated)
        {
            Vector512<ushort> acc = Vector512<ushort>.Zero;
            ref ushort source = ref MemoryMarshal.GetReference(bits);
            for (; i + 32 <= bits.Length; i += 32)
            {
                acc = Vector512.Max(acc, Vector512.LoadUnsafe(ref source, (nuint)i) & Vector512.Create((ushort)0x7C00));
            }
            for (int lane = 0; lane < 32; lane++)
            {
                max = Math.Max(max, acc.GetElement(lane));
            }
        }
        for (; i < bits.Length; i++)
        {
            max = Math.Max(max, bits[i] & 0x7C00);
        }
        return max >> 10;
    }

    /// <summary>
    /// The 32-bit form of <see cref="AccumulateF16"/> for blocks of small values: value · 2^24 comes from
    /// the f16 bits moved into an f32 whose exponent already carries the 2^24, then converted to an integer.
    /// The caller guarantees no NaN/infinity and that every sum stays below 2^31 (see <see cref="MaxF16ExponentField"/>).
    /// </summary>
    public static void AccumulateF16Small(ReadOnlySpan<ushort> bits, Span<int> sums, int weight)
    {
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Avx512F.IsSupported)
        {
            ref ushort source = ref MemoryMarshal.GetReference(bits);
            ref int target = ref MemoryMarshal.GetReference(sums);
            var w = Vector512.Create(weight);
            for (; i + 16 <= bits.Length; i += 16)
            {
                Vector512<int> x = Avx512F.ConvertToVector512Int32(Vector256.LoadUnsafe(ref source, (nuint)i));
                Vector512<int> magnitudeBits = x & Vector512.Create(0x7FFF);
                // Normal: f16 bits << 13 with exponent bias 112 + 24 is the f32 of value · 2^24; subnormal: the mantissa itself.
                Vector512<int> normal = Avx512F.ConvertToVector512Int32WithTruncation(((magnitudeBits << 13) + Vector512.Create(136 << 23)).AsSingle());
                Vector512<int> magnitude = Vector512.ConditionalSelect(Vector512.LessThan(magnitudeBits, Vector512.Create(0x0400)), magnitudeBits, normal);
                Vector512<int> value = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(0x7FFF)), -magnitude, magnitude);
                Vector512<int> acc = Vector512.LoadUnsafe(ref target, (nuint)i);
                (weight == 1 ? acc + value : acc + value * w).StoreUnsafe(ref target, (nuint)i);
            }
        }
        for (; i < bits.Length; i++)
        {
            int x = bits[i], e = (x >> 10) & 31, m = x & 1023;
            int magnitude = e == 0 ? m : (m | 1024) << (e - 1);
            sums[i] += weight * ((x & 0x8000) != 0 ? -magnitude : magnitude);
        }
    }

    /// <summary>Widens 32-bit sums to 64 bits.</summary>
    public static void Widen(ReadOnlySpan<int> sums, Span<long> wide) => TensorPrimitives.ConvertTruncating<int, long>(sums, wide);

    /// <summary>The number of low zero bits every sum shares (64 when all are zero): the OR of the sums has them.</summary>
    public static int SharedTrailingZeros(ReadOnlySpan<long> sums)
    {
        long all = 0;
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Vector512.IsHardwareAccelerated)
        {
            Vector512<long> acc = Vector512<long>.Zero;
            for (; i + 8 <= sums.Length; i += 8)
            {
                acc |= Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(sums), (nuint)i);
            }
            for (int lane = 0; lane < 8; lane++)
            {
                all |= acc.GetElement(lane);
            }
        }
        for (; i < sums.Length; i++)
        {
            all |= sums[i];
        }
        return all == 0 ? 64 : BitOperations.TrailingZeroCount(all);
    }

    /// <summary>sums[i] >>= bits (arithmetic; the caller shifts out only shared zero bits).</summary>
    public static void ShiftRight(Span<long> sums, int bits)
    {
        int i = 0;
        if (bits == 0)
        {
            return;
        }
        if (MergeKernelPaths.VectorsAllowed && Vector.IsHardwareAccelerated)
        {
            Span<Vector<long>> vectors = MemoryMarshal.Cast<long, Vector<long>>(sums);
            for (int v = 0; v < vectors.Length; v++)
            {
                vectors[v] = Vector.ShiftRightArithmetic(vectors[v], bits);
            }
            i = vectors.Length * Vector<long>.Count;
        }
        for (; i < sums.Length; i++)
        {
            sums[i] >>= bits;
        }
    }

    /// <summary>
    /// Means sums[i] · 2^exponent / divisor as f32 values whose round-to-nearest-even conversion to
    /// <paramref name="format"/> is the correctly rounded mean (for f32 they are that mean already).
    /// </summary>
    public static void Mean(ReadOnlySpan<long> sums, int exponent, long divisor, FloatFormat format, Span<float> means)
    {
        int n = sums.Length;
        double factor = Math.ScaleB(1.0, exponent) / divisor;
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Avx512DQ.IsSupported && format.MantissaBits < 23)
        {
            // Every target midpoint is an f32 value, so f32 rounding keeps the approximate mean on the same
            // side of each midpoint as the exact one unless it lands on one. Lanes that land on a midpoint, or
            // in the target's subnormal range, are redone exactly.
            uint dropped = (uint)(23 - format.MantissaBits);
            var lowMask = Vector256.Create((1u << (int)dropped) - 1);
            var midpoint = Vector256.Create(1u << (int)(dropped - 1));
            var smallest = Vector256.Create((uint)(format.MinExponent + 127) << 23);
            var f = Vector512.Create(factor);
            ref long source = ref MemoryMarshal.GetReference(sums);
            ref float target = ref MemoryMarshal.GetReference(means);
            for (; i + 8 <= n; i += 8)
            {
                Vector256<float> mean = Avx512F.ConvertToVector256Single(Avx512DQ.ConvertToVector512Double(Vector512.LoadUnsafe(ref source, (nuint)i)) * f);
                mean.StoreUnsafe(ref target, (nuint)i);
                Vector256<uint> magnitude = mean.AsUInt32() & Vector256.Create(0x7FFF_FFFFu);
                Vector256<uint> flagged = Vector256.Equals(magnitude & lowMask, midpoint)
                    | (Vector256.LessThan(magnitude, smallest) & ~Vector256.Equals(magnitude, Vector256<uint>.Zero));
                if (flagged != Vector256<uint>.Zero)
                {
                    for (int lane = 0; lane < 8; lane++)
                    {
                        if (flagged.GetElement(lane) != 0)
                        {
                            means[i + lane] = (float)CorrectRounding.RoundExactly(sums[i + lane], exponent, divisor, format);
                        }
                    }
                }
            }
        }
        for (; i < n; i++)
        {
            double d = sums[i] * factor;
            float mean = (float)d;
            means[i] = Ambiguous(mean, d, format) ? (float)CorrectRounding.RoundExactly(sums[i], exponent, divisor, format) : mean;
        }
    }

    /// <summary>
    /// <see cref="Mean"/> fused with the f16 store: sums[i] · 2^exponent / divisor correctly rounded to f16
    /// bits, in one pass (the f32 intermediate never leaves the registers).
    /// </summary>
    public static void MeanF16(ReadOnlySpan<long> sums, int exponent, long divisor, Span<ushort> output)
    {
        int n = sums.Length;
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Avx512DQ.IsSupported)
        {
            var scale = Vector512.Create(Math.ScaleB(1.0, exponent));
            var w = Vector512.Create((double)divisor);
            var reciprocal = Vector512.Create(1.0 / divisor);
            var exactRange = Vector512.Create(9007199254740992.0); // 2^53: below it the f64 sum is exact
            bool exactQuotients = BitOperations.IsPow2(divisor); // S · 2^−k: no residual to test
            ref long source = ref MemoryMarshal.GetReference(sums);
            ref ushort target = ref MemoryMarshal.GetReference(output);
            var lowMask = Vector512.Create(0x1FFFu);
            var midpoint = Vector512.Create(0x1000u);
            var smallest = Vector512.Create((uint)(-14 + 127) << 23);
            for (; i + 16 <= n; i += 16)
            {
                Vector512<double> lowSums = Avx512DQ.ConvertToVector512Double(Vector512.LoadUnsafe(ref source, (nuint)i));
                Vector512<double> highSums = Avx512DQ.ConvertToVector512Double(Vector512.LoadUnsafe(ref source, (nuint)(i + 8)));
                Vector512<double> lowQuotients = lowSums * reciprocal, highQuotients = highSums * reciprocal;
                Vector512<double> lowScaled = lowQuotients * scale, highScaled = highQuotients * scale;
                Vector256<float> lowMeans = Avx512F.ConvertToVector256Single(lowScaled), highMeans = Avx512F.ConvertToVector256Single(highScaled);
                Vector512<float> mean = Vector512.Create(lowMeans, highMeans);
                HalfBits.ToF16(mean).StoreUnsafe(ref target, (nuint)i);
                // A lane needs the exact route only if its f32 value lands on an f16 midpoint (or in f16's
                // subnormal range) and is not already the exact mean (exact ties round to even correctly).
                // The exactness test runs only for vectors with a lane on a midpoint.
                Vector512<uint> magnitude = mean.AsUInt32() & Vector512.Create(0x7FFF_FFFFu);
                Vector512<uint> flagged = Vector512.Equals(magnitude & lowMask, midpoint)
                    | (Vector512.LessThan(magnitude, smallest) & ~Vector512.Equals(magnitude, Vector512<uint>.Zero));
                if (flagged != Vector512<uint>.Zero)
                {
                    flagged &= Vector512.Create(
                        Inexact(lowSums, lowQuotients, lowScaled, lowMeans, w, exactRange, exactQuotients),
                        Inexact(highSums, highQuotients, highScaled, highMeans, w, exactRange, exactQuotients));
                }
                for (ulong lanes = flagged.ExtractMostSignificantBits(); lanes != 0; lanes &= lanes - 1)
                {
                    int lane = BitOperations.TrailingZeroCount(lanes);
                    output[i + lane] = HalfBits.SingleToF16((float)CorrectRounding.RoundExactly(sums[i + lane], exponent, divisor, FloatFormat.F16));
                }
            }
        }
        if (i < n)
        {
            Span<float> rest = stackalloc float[n - i];
            Mean(sums[i..], exponent, divisor, FloatFormat.F16, rest);
            HalfBits.SingleToF16(rest, output[i..]);
        }
    }

    /// <summary>
    /// For eight means computed as f32((S · 1/W) · 2^E) (S as f64, its quotient, the scaled quotient, the f32),
    /// a mask of the lanes where that f32 may differ from the exact mean: the f64 quotient (a couple of ulps off
    /// at most) is exact when |S| &lt; 2^53 and its FMA residual is zero (always, for a power-of-two W), the f32
    /// when it widens back equal.
    /// </summary>
    private static Vector256<uint> Inexact(Vector512<double> sums, Vector512<double> quotients, Vector512<double> scaled, Vector256<float> means,
        Vector512<double> w, Vector512<double> exactRange, bool exactQuotients)
    {
        Vector512<double> exact = Vector512.LessThan(Vector512.Abs(sums), exactRange)
            & Vector512.Equals(Avx512F.ConvertToVector512Double(means), scaled);
        if (!exactQuotients)
        {
            exact &= Vector512.Equals(Avx512F.FusedMultiplyAdd(quotients, w, -sums), Vector512<double>.Zero);
        }
        return ~Avx512F.ConvertToVector256UInt32(exact.AsUInt64());
    }

    private static bool Ambiguous(float f, double d, FloatFormat format)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f) & 0x7FFF_FFFFu;
        if (bits == 0 || bits >= 0x7F80_0000u)
        {
            return bits != 0; // zero rounds to zero; infinities and NaN go the exact way
        }
        int floatExponent = (int)(bits >> 23) - 127;
        if (floatExponent < format.MinExponent)
        {
            return true; // the target's subnormal range: rare, take the exact route
        }
        if (format.MantissaBits == 23)
        {
            ulong low = BitConverter.DoubleToUInt64Bits(d) & ((1UL << 29) - 1);
            return Math.Abs((long)low - (1L << 28)) <= 16;
        }
        int dropped = 23 - format.MantissaBits;
        return (bits & ((1u << dropped) - 1)) == 1u << (dropped - 1);
    }
}
