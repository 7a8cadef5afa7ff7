using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Kernels.Numerics;

namespace Dsoup.Models.Soup;

/// <summary>Widens raw tensor bytes of any floating-point storage type to f64 (exactly).</summary>
internal static class ValueDecoder
{
    public static void Decode(StorageType type, ReadOnlySpan<byte> raw, Span<double> destination, Span<float> scratch)
    {
        int n = destination.Length;
        switch (type)
        {
            case StorageType.F64:
                MemoryMarshal.Cast<byte, double>(raw)[..n].CopyTo(destination);
                return;
            case StorageType.F32:
                Widen(MemoryMarshal.Cast<byte, float>(raw)[..n], destination);
                return;
            case StorageType.F16:
                Kernels.Numerics.HalfBits.F16ToDouble(MemoryMarshal.Cast<byte, ushort>(raw)[..n], destination);
                return;
            case StorageType.BF16:
                StorageConversion.ToSingle(type, raw, scratch[..n]);
                break;
            default:
                throw new InvalidDataException($"{type.Name()} tensors cannot be merged");
        }
        Widen(scratch[..n], destination);
    }

    private static void Widen(ReadOnlySpan<float> source, Span<double> destination) =>
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<float, double>(source, destination);

    /// <summary>Stores f32 means (see BlockAccumulator.Mean) as the output type, rounding to nearest even.</summary>
    public static void EncodeMeans(StorageType type, ReadOnlySpan<float> means, Span<byte> destination)
    {
        if (type is not (StorageType.F32 or StorageType.F16 or StorageType.BF16))
        {
            throw new InvalidDataException($"cannot store a merged tensor as {type.Name()}");
        }
        StorageConversion.FromSingle(means, type, destination);
    }

    /// <summary>A whole tensor's values in f64 (small tensors: LoRA factors, scalars).</summary>
    public static double[] ReadAll(TensorEntry entry)
    {
        var raw = new byte[entry.ByteLength];
        entry.Read(0, raw);
        var values = new double[entry.ElementCount];
        Decode(entry.Type, raw, values, new float[values.Length]);
        return values;
    }

    /// <summary>Stores f64 values rounded to nearest-even in <paramref name="type"/> (the bits the GPU kernels store too).</summary>
    public static void EncodeNearest(StorageType type, ReadOnlySpan<double> values, Span<byte> destination)
    {
        switch (type)
        {
            case StorageType.F64:
                values.CopyTo(MemoryMarshal.Cast<byte, double>(destination));
                break;
            case StorageType.F32:
                Span<uint> f32 = MemoryMarshal.Cast<byte, uint>(destination);
                for (int i = 0; i < values.Length; i++)
                {
                    f32[i] = NearestEven.ToF32Bits(values[i]);
                }
                break;
            case StorageType.F16:
            case StorageType.BF16:
                Span<ushort> bits = MemoryMarshal.Cast<byte, ushort>(destination);
                bool half = type == StorageType.F16;
                for (int i = 0; i < values.Length; i++)
                {
                    bits[i] = (ushort)(half ? NearestEven.ToF16Bits(values[i]) : NearestEven.ToBF16Bits(values[i]));
                }
                break;
            default:
                throw new InvalidDataException($"cannot store a merged tensor as {type.Name()}");
        }
    }

    public static Kernels.Cpu.Merge.FloatFormat FormatOf(StorageType type) => type switch
    {
        StorageType.F16 => Kernels.Cpu.Merge.FloatFormat.F16,
        StorageType.BF16 => Kernels.Cpu.Merge.FloatFormat.BF16,
        StorageType.F32 => Kernels.Cpu.Merge.FloatFormat.F32,
        _ => new Kernels.Cpu.Merge.FloatFormat(52, -1022, 1023),
    };
}
