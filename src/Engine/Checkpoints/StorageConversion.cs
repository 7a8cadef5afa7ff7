using System.Runtime.InteropServices;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Engine.Checkpoints;

/// <summary>
/// Converts runs of floating-point storage (f64, f32, f16, bf16) between types, rounding to nearest
/// even; NaN stays NaN. f16 and bf16 go through f32, which holds both exactly.
/// </summary>
public static class StorageConversion
{
    public static bool CanConvert(StorageType from, StorageType to) =>
        from == to || (from.IsFloatingPoint() && to is StorageType.F32 or StorageType.F16 or StorageType.BF16);

    /// <summary>Converts <paramref name="source"/> (whole elements of <paramref name="from"/>) into <paramref name="destination"/>.</summary>
    public static void Convert(StorageType from, ReadOnlySpan<byte> source, StorageType to, Span<byte> destination, Span<float> scratch)
    {
        if (from == to)
        {
            source.CopyTo(destination);
            return;
        }
        if (from == StorageType.F32)
        {
            FromSingle(MemoryMarshal.Cast<byte, float>(source), to, destination);
            return;
        }
        int elements = source.Length / (from.Bits() / 8);
        Span<float> values = to == StorageType.F32 ? MemoryMarshal.Cast<byte, float>(destination)[..elements] : scratch[..elements];
        ToSingle(from, source, values);
        if (to != StorageType.F32)
        {
            FromSingle(values, to, destination);
        }
    }

    /// <summary>Widens (f16, bf16: exactly) or narrows (f64: rounded) whole elements of <paramref name="from"/> to f32.</summary>
    public static void ToSingle(StorageType from, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (from)
        {
            case StorageType.F32:
                MemoryMarshal.Cast<byte, float>(source)[..destination.Length].CopyTo(destination);
                break;
            case StorageType.F16:
                HalfBits.F16ToSingle(MemoryMarshal.Cast<byte, ushort>(source)[..destination.Length], destination);
                break;
            case StorageType.BF16:
                HalfBits.BF16ToSingle(MemoryMarshal.Cast<byte, ushort>(source)[..destination.Length], destination);
                break;
            case StorageType.F64:
                ReadOnlySpan<double> doubles = MemoryMarshal.Cast<byte, double>(source);
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }
                break;
            default:
                throw new ArgumentException($"cannot convert {from.Name()} to f32");
        }
    }

    /// <summary>Stores f32 values as <paramref name="to"/> (f32, f16 or bf16), rounding to nearest even.</summary>
    public static void FromSingle(ReadOnlySpan<float> values, StorageType to, Span<byte> destination)
    {
        switch (to)
        {
            case StorageType.F32:
                values.CopyTo(MemoryMarshal.Cast<byte, float>(destination));
                break;
            case StorageType.F16:
                HalfBits.SingleToF16(values, MemoryMarshal.Cast<byte, ushort>(destination)[..values.Length]);
                break;
            case StorageType.BF16:
                HalfBits.SingleToBF16(values, MemoryMarshal.Cast<byte, ushort>(destination)[..values.Length]);
                break;
            default:
                throw new ArgumentException($"cannot convert f32 to {to.Name()}");
        }
    }
}
