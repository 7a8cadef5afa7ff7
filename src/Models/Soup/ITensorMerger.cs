using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>Turns a chunk of source bytes into output bytes for one method.</summary>
internal interface ITensorMerger
{
    /// <summary>Called once per merged tensor before its first chunk.</summary>
    void Begin(MergedTensor tensor);

    /// <summary>True when the merger reads (and hashes) this tensor's sources itself, so the chunk reader passes its jobs through unread.</summary>
    bool ReadsItself(MergedTensor tensor);

    /// <summary>Merges the chunk's sources into the start of <paramref name="output"/> (bytes of the tensor's output type).</summary>
    void Merge(ChunkData chunk, byte[] output);
}

/// <summary>Per-thread scratch for decoding and rounding one block.</summary>
internal sealed class BlockScratch
{
    public double[] Values { get; } = new double[SoupMemory.BlockElements];

    public float[] Floats { get; } = new float[SoupMemory.BlockElements];

    public double[] Rounded { get; } = new double[SoupMemory.BlockElements];

    public double[] Denominators { get; } = new double[SoupMemory.BlockElements];

    public float[] Means { get; } = new float[SoupMemory.BlockElements];

    public int[] SmallSums { get; } = new int[SoupMemory.BlockElements];

    /// <summary>One block of raw source bytes (up to 8 bytes an element).</summary>
    public byte[] Raw { get; } = new byte[SoupMemory.BlockElements * 8];

    public BlockAccumulator Accumulator { get; } = new();

    private double[][] sources = [];

    /// <summary>One decode buffer per source, reused across blocks.</summary>
    public double[][] Sources(int count)
    {
        if (sources.Length < count)
        {
            sources = Enumerable.Range(0, count).Select(_ => new double[SoupMemory.BlockElements]).ToArray();
        }
        return sources;
    }
}

/// <summary>Helpers shared by the mergers: the blocks of a chunk, decoding and storing one block.</summary>
internal static class ChunkBlocks
{
    [ThreadStatic]
    private static BlockScratch? scratch;

    public static BlockScratch Scratch => scratch ??= new BlockScratch();

    public static int Count(ChunkData chunk) => (chunk.Job.Count + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements;

    public static (int Start, int Length) Range(ChunkData chunk, int block)
    {
        int start = block * SoupMemory.BlockElements;
        return (start, Math.Min(SoupMemory.BlockElements, chunk.Job.Count - start));
    }

    /// <summary>Decodes elements [start, start + values.Length) of source <paramref name="source"/> into f64.</summary>
    public static void Decode(ChunkData chunk, int source, int start, Span<double> values, Span<float> floats)
    {
        var type = chunk.Job.Sources[source].Type;
        int size = type.Bits() / 8;
        ValueDecoder.Decode(type, chunk.Bytes(source).Slice(start * size, values.Length * size), values, floats);
    }

    /// <summary>
    /// Decodes block [start, start + length) of the first <paramref name="sources"/> sources into the
    /// worker's buffers, refusing NaN and infinities (the float methods are undefined on them).
    /// </summary>
    public static double[][] DecodeAll(ChunkData chunk, int start, int length, int sources, IReadOnlyList<SoupIngredient> inputs, SoupIngredient? baseModel)
    {
        double[][] values = Scratch.Sources(sources);
        for (int s = 0; s < sources; s++)
        {
            Span<double> block = values[s].AsSpan(0, length);
            Decode(chunk, s, start, block, Scratch.Floats);
            if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<double>(block))
            {
                throw new InvalidDataException($"{Describe(chunk, s, inputs, baseModel)} holds NaN or infinite values; a soup of them is undefined");
            }
        }
        return values;
    }

    /// <summary>Rounds f64 results to nearest-even in the tensor's output type and stores them at element <paramref name="start"/>.</summary>
    public static void Store(ChunkData chunk, int start, ReadOnlySpan<double> values, byte[] output)
    {
        var type = chunk.Job.Tensor.OutputType;
        int size = type.Bits() / 8;
        ValueDecoder.EncodeNearest(type, values, output.AsSpan(start * size, values.Length * size));
    }

    /// <summary>The exact means of a block, rounded into the output type at element <paramref name="start"/>.</summary>
    public static void StoreMean(ChunkData chunk, int start, BlockAccumulator sum, long divisor, BlockScratch scratch, byte[] output) =>
        StoreMean(chunk.Job.Tensor.OutputType, start, sum, divisor, scratch, output);

    /// <summary>The exact means of a block, rounded into <paramref name="type"/> at element <paramref name="start"/> of <paramref name="output"/>.</summary>
    public static void StoreMean(StorageType type, int start, BlockAccumulator sum, long divisor, BlockScratch scratch, byte[] output)
    {
        var format = ValueDecoder.FormatOf(type);
        int size = type.Bits() / 8, length = sum.Count;
        Span<byte> target = output.AsSpan(start * size, length * size);
        if (type == StorageType.F64)
        {
            Span<double> exact = scratch.Rounded.AsSpan(0, length);
            sum.MeanExactly(divisor, format, exact);
            ValueDecoder.EncodeNearest(type, exact, target); // f64: a copy
            return;
        }
        if (type == StorageType.F16)
        {
            sum.MeanF16(divisor, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(target));
            return;
        }
        Span<float> means = scratch.Means.AsSpan(0, length);
        sum.Mean(divisor, format, means);
        ValueDecoder.EncodeMeans(type, means, target);
    }

    public static string Describe(ChunkData chunk, int source, IReadOnlyList<SoupIngredient> inputs, SoupIngredient? baseModel)
    {
        int id = chunk.Job.SourceIds[source];
        string who = id < inputs.Count ? inputs[id].Name : baseModel?.Name ?? "the base";
        return $"'{chunk.Job.Tensor.Name}' of {who}";
    }
}
