using System.Buffers;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Modules;

/// <summary>
/// Hands each layer its weights by key path, as candle's VarBuilder does: <c>w.At("down_blocks").At("0")</c>
/// reads "down_blocks.0.*". Tensors are read from the checkpoint on first use, converted to one compute dtype
/// on one device, checked against the shape the layer expects, and kept (owned memory) with their full name,
/// so a model can list its parameters. Errors name the key and the file.
/// </summary>
public sealed class Weights
{
    private readonly Store store;

    private Weights(Store store, string prefix)
    {
        this.store = store;
        Prefix = prefix;
    }

    /// <summary>Weights of <paramref name="checkpoint"/> under <paramref name="prefix"/> (e.g. "unet").</summary>
    public Weights(ModelCheckpoint checkpoint, string prefix, Device device, DType dtype)
        : this(new Store(checkpoint, device, dtype), prefix)
    {
    }

    public string Prefix { get; }

    public Device Device => store.Device;

    public DType DType => store.DType;

    public Weights At(string name) => new(store, Combine(Prefix, name));

    public Weights At(int index) => At(index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>True when the checkpoint holds "prefix.name.weight" or "prefix.name".</summary>
    public bool Has(string name)
    {
        string key = Combine(Prefix, name);
        return store.Checkpoint.Find(key + ".weight") is not null || store.Checkpoint.Find(key) is not null;
    }

    /// <summary>The tensor "prefix.name" with exactly <paramref name="shape"/>.</summary>
    public Tensor Get(string name, params int[] shape) => store.Load(Combine(Prefix, name), shape);

    /// <summary>Every tensor loaded so far, by full name (a model's parameters once it is built).</summary>
    public IReadOnlyDictionary<string, Tensor> Loaded => store.Loaded;

    /// <summary>Every linear layer built on these weights, by its key path (where LoRA adapters attach).</summary>
    public IReadOnlyDictionary<string, Linear> Linears => store.Linears;

    internal void Register(Linear layer) => store.Linears[Prefix] = layer;

    /// <summary>Frees every loaded tensor (the model built on them is unusable afterwards).</summary>
    public void Release() => store.Release();

    private static string Combine(string prefix, string name) => prefix.Length == 0 ? name : $"{prefix}.{name}";

    private sealed class Store(ModelCheckpoint checkpoint, Device device, DType dtype)
    {
        private readonly Dictionary<string, Tensor> loaded = new(StringComparer.Ordinal);

        public Dictionary<string, Linear> Linears { get; } = new(StringComparer.Ordinal);

        public ModelCheckpoint Checkpoint => checkpoint;

        public Device Device => device;

        public DType DType => dtype;

        public IReadOnlyDictionary<string, Tensor> Loaded => loaded;

        public void Release()
        {
            foreach (Tensor tensor in loaded.Values)
            {
                tensor.Dispose();
            }
            loaded.Clear();
        }

        public Tensor Load(string key, int[] shape)
        {
            if (loaded.TryGetValue(key, out Tensor? cached))
            {
                return cached;
            }
            ModelTensor entry = checkpoint.Find(key)
                ?? throw new KeyNotFoundException($"{checkpoint.Source}: the model needs '{key}' {new Shape(shape)}, which the checkpoint does not hold");
            if (!entry.Shape.Select(d => (int)d).SequenceEqual(shape))
            {
                throw new InvalidDataException($"{checkpoint.Source}: '{key}' has shape {entry.ShapeText}; the model's configuration expects {new Shape(shape)}");
            }
            if (!StorageConversion.CanConvert(entry.Type, Storage(dtype)))
            {
                throw new InvalidDataException($"{checkpoint.Source}: '{key}' is stored as {entry.Type.Name()}, which is not a floating-point type");
            }
            Tensor tensor = Tensor.EmptyOwned(new Shape(shape), dtype, device);
            Upload(entry, tensor);
            tensor.Name = key;
            loaded[key] = tensor;
            return tensor;
        }

        /// <summary>
        /// Reads, converts and uploads the tensor a chunk at a time through pooled buffers, so loading a model
        /// costs the model's own memory and a few megabytes, not a managed copy of every tensor.
        /// </summary>
        private void Upload(ModelTensor entry, Tensor tensor)
        {
            const int ChunkElements = 1 << 20;
            int sourceSize = entry.Type.Bits() / 8, targetSize = dtype.Size();
            byte[] raw = ArrayPool<byte>.Shared.Rent(ChunkElements * sourceSize);
            byte[] converted = ArrayPool<byte>.Shared.Rent(ChunkElements * targetSize);
            float[] scratch = ArrayPool<float>.Shared.Rent(ChunkElements);
            try
            {
                for (long start = 0; start < entry.ElementCount; start += ChunkElements)
                {
                    int count = (int)Math.Min(ChunkElements, entry.ElementCount - start);
                    Span<byte> source = raw.AsSpan(0, count * sourceSize), target = converted.AsSpan(0, count * targetSize);
                    entry.Read(start * sourceSize, source);
                    StorageConversion.Convert(entry.Type, source, Storage(dtype), target, scratch);
                    device.Backend.Upload(target, tensor.ViewAt(start));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
                ArrayPool<byte>.Shared.Return(converted);
                ArrayPool<float>.Shared.Return(scratch);
            }
        }

        private static StorageType Storage(DType dtype) => dtype switch
        {
            DType.F32 => StorageType.F32,
            DType.F16 => StorageType.F16,
            _ => StorageType.BF16,
        };
    }
}
