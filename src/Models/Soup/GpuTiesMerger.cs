using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Devices;
using Dsoup.Kernels.Gpu.Kernels;
using Dsoup.Kernels.Gpu.Merge;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Soup;

/// <summary>
/// TIES-merging on a GPU. Each tensor's sources are read once, hashed, and uploaded through double-buffered
/// page-locked staging (<see cref="DeviceTies"/>); the top-k selections run as key histograms on the device
/// and the merge as one kernel, whose output the chunks then download. The CPU merger makes several
/// passes over every input per tensor (one per radix digit, then the merge), so this is where a GPU pays.
/// Results are bit for bit those of <see cref="TiesMerger"/>: same f64 arithmetic in the same order, same
/// rounding, same position rule for equal magnitudes. Small tensors, tensors that do not fit the device,
/// and tensors a LoRA patches go to the CPU merger.
/// </summary>
internal sealed class GpuTiesMerger : ITensorMerger, IDisposable
{
    /// <summary>Elements per thread when counting keys equal to a threshold (the position rule's coarse search).</summary>
    private const int EqualSegment = 4096;

    /// <summary>Share of device memory one tensor may take (the rest: the pool's slack, the driver, other work).</summary>
    private const double DeviceShare = 0.7;

    private readonly SoupOptions options;
    private readonly IReadOnlyList<double> weights;
    private readonly IReadOnlyList<SoupIngredient> inputs;
    private readonly SoupIngredient baseModel;
    private readonly Lora.LoraTargets? loras;
    private readonly ContentHashes hashes;
    private readonly IProgress<long>? progress;
    private readonly DeviceTies device;
    private readonly TiesMerger fallback;
    private readonly long minimumElements;
    private bool onDevice;
    private int outputSize;

    /// <summary>Tensors merged on the device so far (the others went to the CPU merger).</summary>
    public int TensorsOnDevice { get; private set; }

    public GpuTiesMerger(SoupOptions options, IReadOnlyList<double> weights, IReadOnlyList<SoupIngredient> inputs, SoupIngredient baseModel,
        Lora.LoraTargets? loras, Device gpu, long stagingBytes, long minimumElements, ContentHashes hashes, IProgress<long>? progress)
    {
        this.options = options;
        this.weights = weights;
        this.inputs = inputs;
        this.baseModel = baseModel;
        this.loras = loras;
        this.hashes = hashes;
        this.progress = progress;
        this.minimumElements = minimumElements;
        // Staging pieces start on hash-block boundaries whatever the element size (8 bytes at most).
        long granule = SoupMemory.BlockElements * 8L;
        device = new DeviceTies(gpu.Backend, (int)Math.Clamp(stagingBytes / granule * granule, granule, 64L << 20));
        fallback = new TiesMerger(options, weights, inputs, baseModel, loras, progress);
    }

    /// <summary>
    /// Whether the GPU merger takes a tensor, apart from the device's memory: large enough to pay, not patched
    /// by a LoRA, stored in types the kernels read and write.
    /// </summary>
    public static bool Takes(MergedTensor tensor, Lora.LoraTargets? loras, long minimumElements) =>
        tensor.ElementCount >= minimumElements && !(loras?.For(tensor.Name).Count > 0)
        && Sources(tensor).All(s => TypeOf(s.Type) is not null) && TypeOf(tensor.OutputType) is not null;

    public bool ReadsItself(MergedTensor tensor)
    {
        if (!Takes(tensor, loras, minimumElements))
        {
            return false;
        }
        long needed = DeviceTies.BytesNeeded(Sources(tensor).Select(s => TypeOf(s.Type)!.Value).ToList(), tensor.ElementCount, TypeOf(tensor.OutputType)!.Value);
        return needed <= device.DeviceMemory * DeviceShare;
    }

    public void Begin(MergedTensor tensor)
    {
        onDevice = ReadsItself(tensor);
        if (!onDevice)
        {
            fallback.Begin(tensor);
            return;
        }
        TensorsOnDevice++;
        List<ModelTensor> sources = Sources(tensor);
        long count = tensor.ElementCount;
        outputSize = tensor.OutputType.Bits() / 8;
        device.Load(sources.Select(s => TypeOf(s.Type)!.Value).ToList(), count, TypeOf(tensor.OutputType)!.Value,
            (s, offset, destination) => ReadAndHash(s, sources[s], tensor.Name, offset, destination));
        long k = (long)Math.Floor(options.Density * count);
        var thresholds = new ulong[weights.Count];
        var cutoffs = new long[weights.Count];
        for (int i = 0; i < weights.Count; i++)
        {
            int input = i;
            TopK selection = TopKSelection.FromHistograms(count, k, (prefix, fixedBits, shift, bins) => device.Histogram(input, prefix, fixedBits, shift, bins));
            (thresholds[i], cutoffs[i]) = KeepRule(tensor, i, selection);
        }
        bool[] nonFinite = device.Merge(weights, thresholds, cutoffs, options.Lambda);
        int bad = Array.IndexOf(nonFinite, true);
        if (bad >= 0)
        {
            string who = bad < inputs.Count ? inputs[bad].Name : baseModel.Name;
            throw new InvalidDataException($"'{tensor.Name}' of {who} holds NaN or infinite values; a soup of them is undefined");
        }
    }

    /// <summary>
    /// Fills a staging piece with a source's bytes from <paramref name="offset"/>, reading and hashing its
    /// blocks on all cores (one reading thread cannot keep up with a GPU's copy engine).
    /// </summary>
    private unsafe void ReadAndHash(int id, ModelTensor source, string name, long offset, Span<byte> destination)
    {
        int size = source.Type.Bits() / 8;
        int blockBytes = SoupMemory.BlockElements * size, blocks = (destination.Length + blockBytes - 1) / blockBytes, length = destination.Length;
        // The staging buffer is page-locked (pinned), so its address is stable while the workers use it.
        byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(destination));
        AllCores.For(blocks, b =>
        {
            var piece = new Span<byte>(start + (long)b * blockBytes, Math.Min(blockBytes, length - b * blockBytes));
            hashes.ReadBlock(id, source, name, offset / size + (long)b * SoupMemory.BlockElements, piece, progress);
        });
    }

    public void Merge(ChunkData chunk, byte[] output)
    {
        if (!onDevice)
        {
            fallback.Merge(chunk, output);
            return;
        }
        device.Download(chunk.Job.Start, output.AsSpan(0, chunk.Job.Count * outputSize));
    }

    public void Dispose() => device.Dispose();

    /// <summary>
    /// A selection as (threshold, cutoff): keep keys above the threshold, and keys equal to it at indices
    /// below the cutoff, which is found from per-segment counts of equal keys and then one segment's keys.
    /// </summary>
    private (ulong Threshold, long Cutoff) KeepRule(MergedTensor tensor, int input, TopK selection)
    {
        if (selection.KeepAll)
        {
            return (0, long.MaxValue);
        }
        if (selection.KeepNone)
        {
            return (ulong.MaxValue, 0);
        }
        if (!selection.SplitsEqualKeys)
        {
            return (selection.Threshold, selection.KeepEqual == 0 ? 0 : long.MaxValue);
        }
        long[] counts = device.CountEqual(input, selection.Threshold, EqualSegment);
        long before = 0;
        for (int segment = 0; segment < counts.Length; segment++)
        {
            if (before + counts[segment] >= selection.KeepEqual)
            {
                long start = (long)segment * EqualSegment;
                return (selection.Threshold, IndexAfterEqual(tensor, input, start, selection.Threshold, selection.KeepEqual - before));
            }
            before += counts[segment];
        }
        return (selection.Threshold, long.MaxValue);
    }

    /// <summary>One past the index of the <paramref name="rank"/>-th key equal to <paramref name="threshold"/> from <paramref name="start"/> on.</summary>
    private static long IndexAfterEqual(MergedTensor tensor, int input, long start, ulong threshold, long rank)
    {
        int length = (int)Math.Min(EqualSegment, tensor.ElementCount - start);
        var raw = new byte[length * 8];
        var floats = new float[length];
        double[] x = new double[length], b = new double[length];
        TiesMerger.Read(tensor.Inputs[input]!, start, length, raw, x, floats);
        TiesMerger.Read(tensor.Base!, start, length, raw, b, floats);
        for (int e = 0; e < length; e++)
        {
            if (TiesMerger.Key(x[e] - b[e]) == threshold && --rank == 0)
            {
                return start + e + 1;
            }
        }
        throw new InvalidOperationException($"'{tensor.Name}': the device counted more keys equal to the threshold than the tensor holds");
    }

    private static List<ModelTensor> Sources(MergedTensor tensor) => [.. tensor.Inputs.Select(i => i!), tensor.Base!];

    private static MergeValueType? TypeOf(StorageType type) => type switch
    {
        StorageType.F16 => MergeValueType.F16,
        StorageType.BF16 => MergeValueType.BF16,
        StorageType.F32 => MergeValueType.F32,
        StorageType.F64 => MergeValueType.F64,
        _ => null,
    };
}
