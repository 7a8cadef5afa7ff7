using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Kernels.Random;
using Dsoup.Models.Conversion;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Synthetic;

/// <summary>
/// Deterministic stand-in weights: element i of tensor NAME is base(NAME, i) + perturbation ·
/// noise(variant, NAME, i), both uniform in [−scale, scale) from Philox streams keyed by a stable hash
/// of the name. Checkpoints with one base seed and different variant seeds look like fine-tunes of one
/// model, which is what a soup averages.
/// </summary>
/// <remarks>
/// With <paramref name="trainable"/>, the base values are an initialisation to train from instead (PyTorch's
/// defaults): norm weights 1, biases 0, embedding tables ±0.02·√3, every other weight uniform in ±1/√fan_in.
/// </remarks>
public sealed class SyntheticValues(ulong baseSeed, ulong variantSeed, float perturbation, float scale = 0.05f, bool trainable = false) : ITensorProducer
{
    private const int ChunkElements = 1 << 20;

    /// <summary>Elements generated per parallel task.</summary>
    private const int SliceElements = 1 << 15;

    private readonly float[] values = new float[ChunkElements];
    private readonly byte[] bytes = new byte[ChunkElements * 4];

    public void Produce(ModelTensor tensor, StorageType type, SafetensorsWriter writer)
    {
        ulong name = StableHash(tensor.Name);
        int size = type.Bits() / 8;
        (float constant, float amplitude) = trainable ? Initialisation(tensor) : (0f, scale);
        for (long start = 0; start < tensor.ElementCount; start += ChunkElements)
        {
            int n = (int)Math.Min(ChunkElements, tensor.ElementCount - start);
            long chunkStart = start;
            Parallel.For(0, (n + SliceElements - 1) / SliceElements, slice =>
            {
                int from = slice * SliceElements, count = Math.Min(SliceElements, n - from);
                Span<float> part = values.AsSpan(from, count);
                Fill(part, baseSeed ^ name, chunkStart + from, amplitude, add: false);
                if (constant != 0)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(part, constant, part);
                }
                if (perturbation != 0)
                {
                    Fill(part, (variantSeed * 0x9E3779B97F4A7C15UL) ^ name, chunkStart + from, perturbation * scale, add: true);
                }
            });
            Span<float> chunk = values.AsSpan(0, n);
            StorageConversion.Convert(StorageType.F32, MemoryMarshal.AsBytes(chunk), type, bytes.AsSpan(0, n * size), values);
            writer.Write(bytes.AsSpan(0, n * size));
        }
    }

    /// <summary>A constant and a uniform amplitude per tensor, as PyTorch initialises the layer it belongs to.</summary>
    private static (float Constant, float Amplitude) Initialisation(ModelTensor tensor)
    {
        if (tensor.Name.EndsWith("bias", StringComparison.Ordinal))
        {
            return (0f, 0f);
        }
        if (tensor.Shape.Length == 1)
        {
            return (1f, 0f);
        }
        if (tensor.Name.Contains("embedding", StringComparison.Ordinal))
        {
            return (0f, 0.02f * MathF.Sqrt(3f));
        }
        long fanIn = tensor.Shape.Skip(1).Aggregate(1L, (a, d) => a * d);
        return (0f, 1f / MathF.Sqrt(fanIn));
    }

    internal static void Fill(Span<float> destination, ulong seed, long offset, float amplitude, bool add)
    {
        for (int i = 0; i < destination.Length;)
        {
            ulong g = (ulong)(offset + i);
            PhiloxBlock block = Philox.Block(seed, g / 4);
            for (int lane = (int)(g % 4); lane < 4 && i < destination.Length; lane++, i++)
            {
                float v = (Philox.ToUnitFloat(block.Lane(lane)) * 2f - 1f) * amplitude;
                destination[i] = add ? destination[i] + v : v;
            }
        }
    }

    /// <summary>FNV-1a over the UTF-16 code units: the same in every process (string.GetHashCode is not).</summary>
    public static ulong StableHash(string text)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 0x100000001B3UL;
        }
        return hash;
    }
}
