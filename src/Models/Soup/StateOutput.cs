using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// Writes a soup state while the soup is computed: for every merged tensor its canonical block sums
/// ("sum/NAME", 128-bit integers as I64 pairs, low word first) and block exponents ("exp/NAME", I32),
/// for copied tensors their bytes ("copy/NAME"), and the manifest. Same atomic write as any output.
/// </summary>
internal sealed class StateOutput : IDisposable
{
    private readonly SafetensorsWriter writer;
    private readonly SoupStateManifest manifest;
    private readonly List<int> exponents = [];

    private StateOutput(SafetensorsWriter writer, SoupStateManifest manifest)
    {
        this.writer = writer;
        this.manifest = manifest;
    }

    /// <summary>Tensors of the state in the order a merge produces them (output order, then parts).</summary>
    public static List<TensorHeader> Headers(IEnumerable<(string Name, bool Copied, StorageType Type, long[] Shape)> tensors)
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
            headers.Add(new TensorHeader(SoupStateManifest.SumName(name), StorageType.I64, [count, 2]));
            headers.Add(new TensorHeader(SoupStateManifest.ExponentName(name), StorageType.I32, [(count + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements]));
        }
        return headers;
    }

    public static StateOutput Create(string path, SoupStateManifest manifest, IEnumerable<(string Name, bool Copied, StorageType Type, long[] Shape)> tensors)
    {
        var writer = SafetensorsWriter.Create(path, Headers(tensors), Metadata(manifest));
        return new StateOutput(writer, manifest);
    }

    /// <summary>Appends one chunk of canonical sums; exponents are kept until the tensor ends.</summary>
    public void WriteSums(ReadOnlySpan<Int128> sums, ReadOnlySpan<int> blockExponents)
    {
        writer.Write(MemoryMarshal.AsBytes(sums));
        foreach (int e in blockExponents)
        {
            exponents.Add(e);
        }
    }

    public void EndSums()
    {
        writer.Write(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(exponents)));
        exponents.Clear();
    }

    public void WriteCopy(ReadOnlySpan<byte> bytes) => writer.Write(bytes);

    /// <summary>Fills in the ingredients' hashes (same length as the placeholders) and commits.</summary>
    public void Commit(IReadOnlyList<StateIngredient> ingredients)
    {
        writer.PatchHeader(SafetensorsWriter.EncodeHeader(writer.Tensors, Metadata(manifest with { Ingredients = [.. ingredients] })));
        writer.Commit();
    }

    public void Abandon() => writer.Abandon();

    public void Dispose() => writer.Dispose();

    private static Dictionary<string, string> Metadata(SoupStateManifest manifest) => new()
    {
        ["format"] = "dsoup-state",
        [SoupStateManifest.MetadataKey] = manifest.ToJson(),
    };

    /// <summary>The (name, copied, type, shape) list a plan's state holds, in processing order.</summary>
    public static IEnumerable<(string, bool, StorageType, long[])> TensorsOf(IEnumerable<PlannedTensor> output, Func<string, MergedTensor> merged) =>
        output.SelectMany(p => p.Parts).Select(part => merged(part.Name)).Select(m => (m.Name, m.IsCopied, m.OutputType, m.Shape));
}
