using System.IO.Hashing;
using System.Text;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>
/// Content hashes of ingredients, computed while their bytes stream past (no extra read). An
/// ingredient's hash is XxHash128 over, for each merged tensor in canonical-name order, its canonical
/// name, dtype, shape and the XxHash128 of its bytes: so it identifies the values merged, whatever the
/// file layout or tensor order.
/// </summary>
public sealed class ContentHashes
{
    private readonly Dictionary<(int Source, string Tensor), XxHash128> running = [];
    private readonly Dictionary<(int Source, string Tensor), (StorageType Type, long[] Shape, byte[] Hash)> finished = [];
    private readonly Lock gate = new();

    /// <summary>Feeds bytes of one source's tensor, in order; <paramref name="last"/> closes that tensor.</summary>
    public void Append(int source, string tensor, StorageType type, long[] shape, ReadOnlySpan<byte> bytes, bool last)
    {
        lock (gate)
        {
            if (!running.TryGetValue((source, tensor), out XxHash128? hash))
            {
                hash = new XxHash128();
                running[(source, tensor)] = hash;
            }
            hash.Append(bytes);
            if (last)
            {
                finished[(source, tensor)] = (type, shape, hash.GetCurrentHash());
                running.Remove((source, tensor));
            }
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
            foreach (var ((s, tensor), (type, shape, digest)) in finished.Where(f => f.Key.Source == source).OrderBy(f => f.Key.Tensor, StringComparer.Ordinal))
            {
                hash.Append(Encoding.UTF8.GetBytes($"{tensor}\0{type.Name()}\0{string.Join(",", shape)}\0"));
                hash.Append(digest);
            }
            return Convert.ToHexStringLower(hash.GetCurrentHash());
        }
    }

    /// <summary>The placeholder written into headers until the hashes are known (same length, patched later).</summary>
    public static string Placeholder => new('0', 32);
}
