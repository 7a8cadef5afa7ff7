using System.IO.Hashing;
using System.Text;
using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// Content hashes of ingredients, computed while their bytes stream past (no extra read). A tensor's
/// hash is XxHash128 over the XxHash128 digests of its blocks of <see cref="SoupMemory.BlockElements"/>
/// elements, in order, so blocks can be hashed in parallel, in any order, by whoever reads them. An
/// ingredient's hash is XxHash128 over, for each merged tensor in canonical-name order, its name,
/// dtype, shape and tensor hash: it identifies the values merged, whatever the file layout or tensor order.
/// </summary>
public sealed class ContentHashes
{
    private readonly Dictionary<(int Source, string Tensor), PendingTensor> pending = [];
    private readonly Dictionary<(int Source, string Tensor), (StorageType Type, long[] Shape, byte[] Hash)> finished = [];
    private readonly Lock gate = new();

    public static int BlockCount(long elements) => (int)((elements + SoupMemory.BlockElements - 1) / SoupMemory.BlockElements);

    /// <summary>Hashes one block (elements [block·B, block·B + count) of the tensor, as raw bytes).</summary>
    public void AppendBlock(int source, ModelTensor tensor, string name, int block, ReadOnlySpan<byte> bytes)
    {
        byte[] digest = XxHash128.Hash(bytes);
        lock (gate)
        {
            if (!pending.TryGetValue((source, name), out PendingTensor? tensorBlocks))
            {
                tensorBlocks = new PendingTensor(BlockCount(tensor.ElementCount));
                pending[(source, name)] = tensorBlocks;
            }
            if (tensorBlocks.Add(block, digest))
            {
                finished[(source, name)] = (tensor.Type, tensor.Shape, tensorBlocks.Hash());
                pending.Remove((source, name));
            }
        }
    }

    /// <summary>
    /// Reads the block of <paramref name="tensor"/> that starts at element <paramref name="element"/> (a block
    /// boundary) into <paramref name="destination"/>, hashes it and reports its bytes: the one read of a block
    /// by whoever merges it.
    /// </summary>
    public void ReadBlock(int source, ModelTensor tensor, string name, long element, Span<byte> destination, IProgress<long>? progress)
    {
        tensor.Read(element * (tensor.Type.Bits() / 8), destination);
        AppendBlock(source, tensor, name, (int)(element / SoupMemory.BlockElements), destination);
        progress?.Report(destination.Length);
    }

    /// <summary>Hashes every block within a run of a tensor's bytes that starts at element <paramref name="start"/> (a block boundary).</summary>
    public void AppendRun(int source, ModelTensor tensor, string name, long start, ReadOnlySpan<byte> bytes)
    {
        int size = tensor.Type.Bits() / 8;
        long blockBytes = (long)SoupMemory.BlockElements * size;
        int first = (int)(start / SoupMemory.BlockElements);
        for (long offset = 0; offset < bytes.Length; offset += blockBytes)
        {
            AppendBlock(source, tensor, name, first + (int)(offset / blockBytes), bytes.Slice((int)offset, (int)Math.Min(blockBytes, bytes.Length - offset)));
        }
    }

    /// <summary>Records a tensor hash computed earlier (a resumed merge reads it from its journal).</summary>
    public void Restore(int source, string tensor, StorageType type, long[] shape, byte[] hash)
    {
        lock (gate)
        {
            finished[(source, tensor)] = (type, shape, hash);
        }
    }

    public byte[]? TensorHash(int source, string tensor)
    {
        lock (gate)
        {
            return finished.TryGetValue((source, tensor), out var f) ? f.Hash : null;
        }
    }

    /// <summary>The ingredient hash of <paramref name="source"/>, as 32 lowercase hex digits.</summary>
    public string IngredientHash(int source)
    {
        lock (gate)
        {
            var hash = new XxHash128();
            foreach (var ((_, tensor), (type, shape, digest)) in finished.Where(f => f.Key.Source == source).OrderBy(f => f.Key.Tensor, StringComparer.Ordinal))
            {
                hash.Append(Encoding.UTF8.GetBytes($"{tensor}\0{type.Name()}\0{string.Join(",", shape)}\0"));
                hash.Append(digest);
            }
            return Convert.ToHexStringLower(hash.GetCurrentHash());
        }
    }

    /// <summary>The placeholder written into headers until the hashes are known (same length, patched later).</summary>
    public static string Placeholder => new('0', 32);

    /// <summary>The block digests of a tensor still being read, and how many are missing (so completion is O(1) per block).</summary>
    private sealed class PendingTensor(int blocks)
    {
        private readonly byte[][] digests = new byte[blocks][];
        private int missing = blocks;

        /// <summary>Records a block's digest; true when it was the last one missing.</summary>
        public bool Add(int block, byte[] digest)
        {
            if (digests[block] is null)
            {
                missing--;
            }
            digests[block] = digest;
            return missing == 0;
        }

        public byte[] Hash()
        {
            var hash = new XxHash128();
            foreach (byte[] d in digests)
            {
                hash.Append(d);
            }
            return hash.GetCurrentHash();
        }
    }
}
