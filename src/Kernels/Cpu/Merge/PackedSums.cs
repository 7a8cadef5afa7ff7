using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Dsoup.Kernels.Cpu.Merge;

/// <summary>
/// A block's canonical fixed-point sums stored at the narrowest width that holds every one of them:
/// 0 bytes per element (all zero), 1, 2, 4, 8 or 16, little-endian two's complement. Real weights need
/// 32 bits or fewer in most blocks, so a soup state is a fraction of the 16 bytes per element a fixed
/// 128-bit layout takes. The width is a function of the sums alone, so equal sums pack to equal bytes.
/// </summary>
public static class PackedSums
{
    /// <summary>The widths a block may have, in bytes per element.</summary>
    public static readonly IReadOnlyList<int> Widths = [0, 1, 2, 4, 8, 16];

    /// <summary>Bytes per element that hold every sum (0 when all are zero).</summary>
    public static int Width(ReadOnlySpan<long> sums)
    {
        (long any, int bits) = Magnitude(sums);
        return any == 0 ? 0 : WidthFor(bits + 1);
    }

    /// <summary>Bytes per element that hold every 128-bit sum (0 when all are zero).</summary>
    public static int Width(ReadOnlySpan<Int128> sums)
    {
        Int128 any = 0, magnitude = 0;
        foreach (Int128 s in sums)
        {
            any |= s;
            magnitude |= s ^ (s >> 127);
        }
        return any == 0 ? 0 : WidthFor(128 - (int)Int128.LeadingZeroCount(magnitude) + 1);
    }

    /// <summary>
    /// The OR of the sums (zero only when all are) and the bit length of the OR of their magnitudes:
    /// every |sum| is below 2^bits (a negative sum −m counts as m − 1, which is what two's complement needs).
    /// </summary>
    public static (long Any, int Bits) Magnitude(ReadOnlySpan<long> sums)
    {
        long any = 0, magnitude = 0;
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Vector.IsHardwareAccelerated && sums.Length >= Vector<long>.Count)
        {
            var anyV = Vector<long>.Zero;
            var magnitudeV = Vector<long>.Zero;
            var vectors = MemoryMarshal.Cast<long, Vector<long>>(sums);
            foreach (Vector<long> v in vectors)
            {
                anyV |= v;
                magnitudeV |= v ^ Vector.ShiftRightArithmetic(v, 63);
            }
            for (int lane = 0; lane < Vector<long>.Count; lane++)
            {
                any |= anyV[lane];
                magnitude |= magnitudeV[lane];
            }
            i = vectors.Length * Vector<long>.Count;
        }
        for (; i < sums.Length; i++)
        {
            any |= sums[i];
            magnitude |= sums[i] ^ (sums[i] >> 63);
        }
        return (any, 64 - BitOperations.LeadingZeroCount((ulong)magnitude));
    }

    /// <summary>Stores 64-bit sums at <paramref name="width"/> bytes each (8 or fewer; every sum must fit).</summary>
    public static void Pack(ReadOnlySpan<long> sums, int width, Span<byte> destination)
    {
        switch (width)
        {
            case 0:
                return;
            case 8:
                MemoryMarshal.AsBytes(sums).CopyTo(destination);
                return;
            case 4:
                PackInt32(sums, MemoryMarshal.Cast<byte, int>(destination[..(sums.Length * 4)]));
                return;
            case 2:
                Span<short> shorts = MemoryMarshal.Cast<byte, short>(destination[..(sums.Length * 2)]);
                for (int i = 0; i < sums.Length; i++)
                {
                    shorts[i] = (short)sums[i];
                }
                return;
            case 1:
                for (int i = 0; i < sums.Length; i++)
                {
                    destination[i] = (byte)sums[i];
                }
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(width), $"64-bit sums pack at 0, 1, 2, 4 or 8 bytes, not {width}");
        }
    }

    /// <summary>Stores 128-bit sums at <paramref name="width"/> bytes each.</summary>
    public static void Pack(ReadOnlySpan<Int128> sums, int width, Span<byte> destination)
    {
        if (width == 16)
        {
            MemoryMarshal.AsBytes(sums).CopyTo(destination);
            return;
        }
        Span<long> narrow = width == 0 ? [] : new long[sums.Length];
        for (int i = 0; i < narrow.Length; i++)
        {
            narrow[i] = (long)sums[i];
        }
        Pack(narrow, width, destination);
    }

    /// <summary>Reads sums stored at <paramref name="width"/> bytes (8 or fewer) into 64-bit integers.</summary>
    public static void Unpack(ReadOnlySpan<byte> packed, int width, Span<long> sums)
    {
        switch (width)
        {
            case 0:
                sums.Clear();
                return;
            case 8:
                MemoryMarshal.Cast<byte, long>(packed[..(sums.Length * 8)]).CopyTo(sums);
                return;
            case 4:
                UnpackInt32(MemoryMarshal.Cast<byte, int>(packed[..(sums.Length * 4)]), sums);
                return;
            case 2:
                for (int i = 0; i < sums.Length; i++)
                {
                    sums[i] = BinaryPrimitives.ReadInt16LittleEndian(packed[(2 * i)..]);
                }
                return;
            case 1:
                for (int i = 0; i < sums.Length; i++)
                {
                    sums[i] = (sbyte)packed[i];
                }
                return;
            default:
                throw new InvalidDataException($"64-bit sums are stored at 0, 1, 2, 4 or 8 bytes, not {width}");
        }
    }

    /// <summary>Reads 16-byte sums.</summary>
    public static void Unpack(ReadOnlySpan<byte> packed, Span<Int128> sums) => MemoryMarshal.Cast<byte, Int128>(packed[..(sums.Length * 16)]).CopyTo(sums);

    private static int WidthFor(int bits) => bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : bits <= 64 ? 8 : 16;

    private static void PackInt32(ReadOnlySpan<long> sums, Span<int> destination)
    {
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Vector.IsHardwareAccelerated)
        {
            int step = 2 * Vector<long>.Count;
            for (; i + step <= sums.Length; i += step)
            {
                Vector.Narrow(new Vector<long>(sums[i..]), new Vector<long>(sums[(i + Vector<long>.Count)..])).CopyTo(destination[i..]);
            }
        }
        for (; i < sums.Length; i++)
        {
            destination[i] = (int)sums[i];
        }
    }

    private static void UnpackInt32(ReadOnlySpan<int> packed, Span<long> sums)
    {
        int i = 0;
        if (MergeKernelPaths.VectorsAllowed && Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<int>.Count <= packed.Length; i += Vector<int>.Count)
            {
                Vector.Widen(new Vector<int>(packed[i..]), out Vector<long> low, out Vector<long> high);
                low.CopyTo(sums[i..]);
                high.CopyTo(sums[(i + Vector<long>.Count)..]);
            }
        }
        for (; i < packed.Length; i++)
        {
            sums[i] = packed[i];
        }
    }
}
