using System.Numerics;
using System.Numerics.Tensors;
using Dsoup.Kernels.Cpu.Merge;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Models.Soup;

/// <summary>
/// The exact sum Σ wᵢ·xᵢ of one block of elements (at most <see cref="SoupMemory.BlockElements"/>),
/// kept as integers times 2^Exponent. The exponent falls whenever a contribution needs finer steps
/// (existing sums shift left, exactly); the integers are 64-bit until the range needs 128.
/// <see cref="Canonicalize"/> strips the bits every sum has in common, which makes the representation of a
/// given exact sum unique: whatever the order or history of additions and removals, equal sums give
/// equal integers and exponent.
/// </summary>
internal sealed class BlockAccumulator
{
    private const int NarrowBits = 62;
    private const int WideBits = 125;

    private readonly long[] narrow = new long[SoupMemory.BlockElements];
    private readonly Int128[] wide = new Int128[SoupMemory.BlockElements];
    private double bound; // Σ |contribution| ≥ every |sum|, in value units (conservative)

    public int Count { get; private set; }

    public bool IsWide { get; private set; }

    /// <summary>int.MaxValue while every contribution has been zero.</summary>
    public int Exponent { get; private set; }

    public void Reset(int count)
    {
        Count = count;
        IsWide = false;
        Exponent = int.MaxValue;
        bound = 0;
        narrow.AsSpan(0, count).Clear();
    }

    /// <summary>
    /// Starts from a soup state block: <paramref name="count"/> canonical sums stored at <paramref name="width"/>
    /// bytes each (see <see cref="PackedSums"/>) times 2^<paramref name="exponent"/>. Sums that fit 64 bits load
    /// into the 64-bit lanes, so the update runs on the vector paths.
    /// </summary>
    public void LoadPacked(ReadOnlySpan<byte> packed, int width, int count, int exponent)
    {
        Count = count;
        if (width == 16)
        {
            IsWide = true;
            PackedSums.Unpack(packed, wide.AsSpan(0, count));
            Int128 magnitude = 0;
            foreach (Int128 s in wide.AsSpan(0, count))
            {
                magnitude |= Int128.Abs(s);
            }
            SetLoadedBound(magnitude == 0 ? 0 : 128 - (int)Int128.LeadingZeroCount(magnitude), exponent);
            return;
        }
        IsWide = false;
        PackedSums.Unpack(packed, width, narrow.AsSpan(0, count));
        (long any, int bits) = PackedSums.Magnitude(narrow.AsSpan(0, count));
        SetLoadedBound(any == 0 ? 0 : bits + 1, exponent);
    }

    /// <summary>
    /// Stores the sums (after <see cref="Canonicalize"/>) at the narrowest width that holds them; returns that
    /// width in bytes per element (0 for an all-zero block, which stores nothing).
    /// </summary>
    public int Pack(Span<byte> destination)
    {
        if (IsWide)
        {
            int wideWidth = PackedSums.Width(wide.AsSpan(0, Count));
            PackedSums.Pack(wide.AsSpan(0, Count), wideWidth, destination);
            return wideWidth;
        }
        int width = PackedSums.Width(narrow.AsSpan(0, Count));
        PackedSums.Pack(narrow.AsSpan(0, Count), width, destination);
        return width;
    }

    /// <summary>Every loaded |sum| is below 2^bits (0: all zero); the bound is kept in value units.</summary>
    private void SetLoadedBound(int bits, int exponent)
    {
        Exponent = bits == 0 ? int.MaxValue : exponent;
        bound = bits == 0 ? 0 : Math.ScaleB(1.0, bits + exponent);
    }

    /// <summary>Adds weight · values (exactly). Throws on NaN/infinity, naming <paramref name="what"/>.</summary>
    public void Add(ReadOnlySpan<double> values, long weight, string what)
    {
        if (!BlockFixedPoint.Scan(values, out int low, out int high))
        {
            throw new InvalidDataException($"{what} holds NaN or infinite values; a soup of them is undefined (dsoup inspect --scan finds them)");
        }
        if (low == int.MaxValue || weight == 0)
        {
            return; // all zero: nothing to add
        }
        int exponent = Math.Min(Exponent, low);
        bound += Math.Abs((double)weight) * Math.ScaleB(1.0, high + 1);
        int bits = Math.ILogB(bound) + 1 - exponent;
        if (bits > WideBits)
        {
            throw new InvalidDataException($"{what}: values from 2^{low} to 2^{high} span too wide a range to sum exactly in 128 bits");
        }
        if (!IsWide && bits > NarrowBits)
        {
            Widen();
        }
        if (Exponent != int.MaxValue && exponent < Exponent)
        {
            ShiftLeft(Exponent - exponent);
        }
        Exponent = exponent;
        if (IsWide)
        {
            BlockFixedPoint.Accumulate(values, wide.AsSpan(0, Count), exponent, weight);
        }
        else
        {
            BlockFixedPoint.Accumulate(values, narrow.AsSpan(0, Count), exponent, weight);
        }
    }

    /// <summary>
    /// Adds weight · f16 values straight from their bits when the block can hold them at exponent −24
    /// (the common case: f16 ingredients); otherwise decodes and takes the general route.
    /// </summary>
    public void AddF16(ReadOnlySpan<ushort> bits, long weight, Span<double> decoded, Span<float> scratch, string what)
    {
        const int exponent = FixedPointKernels.F16Exponent;
        double next = bound + Math.Abs((double)weight) * Math.ScaleB(1.0, 16);
        if (IsWide || (Exponent != int.MaxValue && Exponent < exponent) || Math.ILogB(next) + 1 - exponent > NarrowBits)
        {
            HalfBits.F16ToSingle(bits, scratch);
            TensorPrimitives.ConvertTruncating<float, double>(scratch[..bits.Length], decoded);
            Add(decoded[..bits.Length], weight, what);
            return;
        }
        if (Exponent != int.MaxValue && Exponent > exponent)
        {
            ShiftLeft(Exponent - exponent);
        }
        if (!FixedPointKernels.AccumulateF16(bits, narrow.AsSpan(0, Count), weight))
        {
            throw new InvalidDataException($"{what} holds NaN or infinite values; a soup of them is undefined (dsoup inspect --scan finds them)");
        }
        Exponent = exponent;
        bound = next;
    }

    /// <summary>
    /// Prepares an empty block to take f16 contributions straight into 64-bit sums at exponent −24, when
    /// their total weight allows (|sum| ≤ Σw · 2^40 must stay below 2^62); returns the sums, or an empty span.
    /// </summary>
    public Span<long> BeginF16(long totalWeight)
    {
        const int exponent = FixedPointKernels.F16Exponent;
        double next = Math.Abs((double)totalWeight) * Math.ScaleB(1.0, 16);
        if (IsWide || Exponent != int.MaxValue || Math.ILogB(next) + 1 - exponent > NarrowBits)
        {
            return [];
        }
        Exponent = exponent;
        bound = next;
        return narrow.AsSpan(0, Count);
    }

    /// <summary>Divides out the largest power of two every sum shares; an all-zero block gets exponent 0.</summary>
    public void Canonicalize()
    {
        if (!IsWide)
        {
            int zeros = FixedPointKernels.SharedTrailingZeros(narrow.AsSpan(0, Count));
            if (zeros == 64)
            {
                Exponent = 0;
                return;
            }
            FixedPointKernels.ShiftRight(narrow.AsSpan(0, Count), zeros);
            Exponent += zeros;
            return;
        }
        int shared = int.MaxValue;
        for (int i = 0; i < Count; i++)
        {
            if (IsWide ? wide[i] != 0 : narrow[i] != 0)
            {
                int zeros = IsWide ? (int)Int128.TrailingZeroCount(wide[i]) : BitOperations.TrailingZeroCount(narrow[i]);
                shared = Math.Min(shared, zeros);
            }
        }
        if (shared == int.MaxValue)
        {
            Exponent = 0;
            return;
        }
        for (int i = 0; i < Count; i++)
        {
            if (IsWide)
            {
                wide[i] >>= shared;
            }
            else
            {
                narrow[i] >>= shared;
            }
        }
        Exponent += shared;
    }

    public Int128 Sum(int index) => IsWide ? wide[index] : narrow[index];

    /// <summary>
    /// Each sum divided by <paramref name="divisor"/> as f32 values whose round-to-nearest-even conversion to
    /// <paramref name="format"/> (at most f32) is the correctly rounded mean.
    /// </summary>
    public void Mean(long divisor, FloatFormat format, Span<float> means)
    {
        int exponent = Exponent == int.MaxValue ? 0 : Exponent;
        if (!IsWide)
        {
            FixedPointKernels.Mean(narrow.AsSpan(0, Count), exponent, divisor, format, means);
            return;
        }
        for (int i = 0; i < Count; i++)
        {
            means[i] = (float)CorrectRounding.RoundRational(wide[i], exponent, divisor, format);
        }
    }

    /// <summary>Each sum divided by <paramref name="divisor"/>, correctly rounded to f16 bits (the fused fast path).</summary>
    public void MeanF16(long divisor, Span<ushort> output)
    {
        int exponent = Exponent == int.MaxValue ? 0 : Exponent;
        if (!IsWide)
        {
            FixedPointKernels.MeanF16(narrow.AsSpan(0, Count), exponent, divisor, output);
            return;
        }
        for (int i = 0; i < Count; i++)
        {
            output[i] = HalfBits.SingleToF16((float)CorrectRounding.RoundRational(wide[i], exponent, divisor, FloatFormat.F16));
        }
    }

    /// <summary>Each sum divided by <paramref name="divisor"/>, correctly rounded to f64 (for f64 outputs).</summary>
    public void MeanExactly(long divisor, FloatFormat format, Span<double> means)
    {
        int exponent = Exponent == int.MaxValue ? 0 : Exponent;
        for (int i = 0; i < Count; i++)
        {
            means[i] = CorrectRounding.RoundExactly(Sum(i), exponent, divisor, format);
        }
    }

    private void Widen()
    {
        for (int i = 0; i < Count; i++)
        {
            wide[i] = narrow[i];
        }
        IsWide = true;
    }

    private void ShiftLeft(int bits)
    {
        for (int i = 0; i < Count; i++)
        {
            if (IsWide)
            {
                wide[i] <<= bits;
            }
            else
            {
                narrow[i] <<= bits;
            }
        }
    }
}
