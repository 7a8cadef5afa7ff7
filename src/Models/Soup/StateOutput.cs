using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// Writes a soup state while the soup is computed. For every merged tensor: "sum/NAME", its canonical
/// block sums packed at each block's own width (U8, see <see cref="Kernels.Cpu.Merge.PackedSums"/>), then
/// "blocks/NAME", one (exponent, bytes per element) I32 pair per block; for copied tensors their bytes
/// ("copy/NAME"); and the manifest. The packed sizes are known only as blocks are written, so the header
/// is reserved at its largest length and written at commit (<see cref="SafetensorsWriter.CreateBounded"/>);
/// the write is atomic like any output's.
/// </summary>
internal sealed class StateOutput : IDisposable
{
    private readonly SafetensorsWriter writer;
    private readonly SoupStateManifest manifest;
    private readonly List<TensorHeader> written = [];
    private readonly List<int> blockTable = [];
    private long packedBytes;

    private StateOutput(SafetensorsWriter writer, SoupStateManifest manifest)
    {
        this.writer = writer;
        this.manifest = manifest;
    }

    /// <summary>The largest form of every tensor of the state (16 bytes per summed element), in the order a merge writes them.</summary>
    public static List<TensorHeader> Bounds(IEnumerable<(string Name, bool Copied, StorageType Type, long[] Shape)> tensors)
    {
        var headers = new List<TensorHeader>();
        foreach (var (name, copied, type, shape) in tensors)
        {
            long count = shape.Aggregate(1L, (a, d) => a * d);
            if (copied)
            {
                headers.Add(new TensorHeader(SoupStateManifest.CopyName(name), type, shape));
                continue;
            }
            headers.Add(new TensorHeader(SoupStateManifest.SumName(name), StorageType.U8, [count * 16]));
            headers.Add(new TensorHeader(SoupStateManifest.BlocksName(name), StorageType.I32, [ContentHashes.BlockCount(count), 2]));
        }
        return headers;
    }

    public static StateOutput Create(string path, SoupStateManifest manifest, IEnumerable<(string Name, bool Copied, StorageType Type, long[] Shape)> tensors)
    {
        var writer = SafetensorsWriter.CreateBounded(path, Bounds(tensors), Metadata(manifest));
        return new StateOutput(writer, manifest);
    }

    /// <summary>Appends one chunk's packed blocks; their table is kept until the tensor ends.</summary>
    public void WriteSums(StateBuffers chunk, int blocks)
    {
        for (int b = 0; b < blocks; b++)
        {
            int bytes = chunk.Counts[b] * chunk.Widths[b];
            writer.Write(chunk.Packed.AsSpan(chunk.BlockOffset(b), bytes));
            packedBytes += bytes;
            blockTable.Add(chunk.Exponents[b]);
            blockTable.Add(chunk.Widths[b]);
        }
    }

    /// <summary>Ends a merged tensor: its packed sums are complete, and its block table follows them.</summary>
    public void EndSums()
    {
        TensorHeader bound = writer.Tensors[written.Count];
        written.Add(bound with { Shape = [packedBytes] });
        writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(blockTable)));
        written.Add(writer.Tensors[written.Count]);
        blockTable.Clear();
        packedBytes = 0;
    }

    public void WriteCopy(ReadOnlySpan<byte> bytes)
    {
        writer.Write(bytes);
        written.Add(writer.Tensors[written.Count]);
    }

    /// <summary>Writes the header with the tensors' real sizes and the ingredients' hashes, and commits.</summary>
    public void Commit(IReadOnlyList<StateIngredient> ingredients) =>
        writer.Commit(written, Metadata(manifest with { Ingredients = [.. ingredients] }));

    public void Dispose() => writer.Dispose();

    private static Dictionary<string, string> Metadata(SoupStateManifest manifest) => new()
    {
        ["format"] = "dsoup-state",
        [SoupStateManifest.MetadataKey] = manifest.ToJson(),
    };

    /// <summary>The (name, copied, type, shape) list a plan's state holds, in processing order.</summary>
    public static IEnumerable<(string, bool, StorageType, long[])> TensorsOf(IEnumerable<PlannedTensor> output, Func<string, MergedTensor> merged) =>
        output.SelectMany(p => p.Parts).Select(part => merged(part.Name)).Select(m => (m.Name, m.IsCopied, m.OutputType, m.Shape));

    /// <summary>The soup file's tensors as the manifest records them.</summary>
    public static List<StateOutputTensor> OutputTable(IEnumerable<PlannedTensor> output) =>
        output.Select(p => new StateOutputTensor(p.Name, p.Shape, p.Parts.Select(part => part.Name).ToArray())).ToList();
}

/// <summary>
/// One chunk's blocks for a soup state: each block's canonical sums packed at their width (in a region
/// big enough for 16 bytes per element), its exponent, width and element count.
/// </summary>
internal sealed class StateBuffers(long chunkElements)
{
    private const int BlockBytes = SoupMemory.BlockElements * 16;

    public byte[] Packed { get; } = new byte[(chunkElements + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements * BlockBytes];

    public int[] Exponents { get; } = new int[(chunkElements + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements];

    public int[] Widths { get; } = new int[(chunkElements + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements];

    public int[] Counts { get; } = new int[(chunkElements + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements];

    public int BlockOffset(int block) => block * BlockBytes;

    /// <summary>Packs one canonical block (called by the worker that summed it).</summary>
    public void Capture(int block, BlockAccumulator sum)
    {
        Widths[block] = sum.Pack(Packed.AsSpan(BlockOffset(block), BlockBytes));
        Exponents[block] = sum.Exponent;
        Counts[block] = sum.Count;
    }
}
