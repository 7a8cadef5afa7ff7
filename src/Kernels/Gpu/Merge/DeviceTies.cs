using Dsoup.Kernels.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Dsoup.Kernels.Gpu.Merge;

/// <summary>
/// TIES-merging of one tensor at a time on an ILGPU device: every source (N inputs, then the base) is
/// uploaded once through <see cref="StagedUpload"/> into one device buffer, top-k selections are found
/// by histogramming keys on the device (the caller walks the radix digits), and the merge writes the
/// output type's bytes on the device, to be downloaded in pieces. Device memory: the sources and the
/// output of the current tensor, reused from the backend's pool.
/// </summary>
public sealed class DeviceTies : IDisposable
{
    /// <summary>Bins of a 16-bit digit histogram.</summary>
    public const int HistogramBins = 1 << 16;

    private const int Alignment = 8;

    private readonly IlgpuBackend backend;
    private readonly StagedUpload upload;
    private readonly DeviceBuffer histogram;
    private DeviceBuffer? sources, output;
    private long[] offsets = [];
    private int[] types = [];
    private long count;
    private MergeValueType outputType;

    private Action<KernelConfig, ArrayView<ushort>, ArrayView<float>, ArrayView<double>, TiesKernels.Pair, ulong, ulong, int, ArrayView<long>>? keyHistogram;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<float>, ArrayView<double>, TiesKernels.Pair, ulong, int, ArrayView<long>>? countEqual;
    private Action<KernelConfig, ArrayView<ushort>, ArrayView<float>, ArrayView<double>, ArrayView<long>, ArrayView<int>, ArrayView<double>, ArrayView<ulong>,
        ArrayView<long>, TiesKernels.MergeShape, ArrayView<ushort>, ArrayView<float>, ArrayView<double>, ArrayView<int>>? merge;

    /// <param name="backend">An ILGPU backend (a device's <see cref="IBackend"/>).</param>
    /// <param name="stagingBytes">Bytes of each of the two page-locked staging buffers.</param>
    public DeviceTies(IBackend backend, int stagingBytes)
    {
        this.backend = backend as IlgpuBackend ?? throw new ArgumentException($"TIES on a device needs an ILGPU device, not '{backend.Name}'");
        StagedUpload? staged = null;
        this.backend.Run(() => staged = new StagedUpload(this.backend.Accelerator, stagingBytes));
        upload = staged!;
        histogram = backend.Allocate(HistogramBins * sizeof(long));
    }

    /// <summary>Device memory one tensor needs: its sources and its output (plus small per-source arrays).</summary>
    public static long BytesNeeded(IReadOnlyList<MergeValueType> sourceTypes, long count, MergeValueType outputType) =>
        sourceTypes.Sum(t => Aligned(count * Size(t))) + Aligned(count * Size(outputType));

    /// <summary>The device's memory in bytes.</summary>
    public long DeviceMemory => backend.Accelerator.MemorySize;

    /// <summary>
    /// Uploads a tensor's sources (inputs, then the base), each of <paramref name="count"/> elements;
    /// <paramref name="fill"/>(source, byte offset, destination) produces their stored bytes piece by piece.
    /// </summary>
    public void Load(IReadOnlyList<MergeValueType> sourceTypes, long count, MergeValueType outputType, Action<int, long, Span<byte>> fill)
    {
        this.count = count;
        this.outputType = outputType;
        types = sourceTypes.Select(t => (int)t).ToArray();
        var byteOffsets = new long[types.Length];
        long total = 0;
        for (int s = 0; s < types.Length; s++)
        {
            byteOffsets[s] = total;
            total += Aligned(count * Size(sourceTypes[s]));
        }
        offsets = byteOffsets.Select((b, s) => b / Size(sourceTypes[s])).ToArray();
        sources?.Dispose();
        output?.Dispose();
        sources = backend.Allocate(Math.Max(total, Alignment));
        output = backend.Allocate(Math.Max(Aligned(count * Size(outputType)), Alignment));
        backend.Run(() =>
        {
            ArrayView<byte> all = Bytes(sources);
            for (int s = 0; s < types.Length; s++)
            {
                int source = s;
                upload.Upload(all.SubView(byteOffsets[s], count * Size(sourceTypes[s])), count * Size(sourceTypes[s]),
                    (offset, destination) => fill(source, offset, destination));
            }
            upload.Finish();
        });
    }

    /// <summary>Counts into <paramref name="counts"/>, by their 16-bit digit at <paramref name="shift"/>, the keys |θᵢ − θ₀| of input <paramref name="input"/> whose top <paramref name="fixedBits"/> bits equal <paramref name="prefix"/>'s.</summary>
    public void Histogram(int input, ulong prefix, int fixedBits, int shift, long[] counts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(counts.Length, HistogramBins);
        backend.Run(() =>
        {
            keyHistogram ??= backend.Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<float>, ArrayView<double>, TiesKernels.Pair, ulong, ulong, int, ArrayView<long>>(TiesKernels.KeyHistogram);
            ArrayView<long> bins = Bytes(histogram).Cast<long>();
            bins.MemSetToZero();
            ulong mask = fixedBits == 0 ? 0 : ulong.MaxValue << (64 - fixedBits);
            var (halves, singles, doubles) = Views(sources!);
            keyHistogram(backend.Streaming(count), halves, singles, doubles, PairOf(input), prefix & mask, mask, shift, bins);
            bins.CopyToCPU(counts.AsSpan(0, HistogramBins));
        });
    }

    /// <summary>How many keys of input <paramref name="input"/> equal <paramref name="threshold"/>, per segment of <paramref name="segment"/> elements.</summary>
    public long[] CountEqual(int input, ulong threshold, int segment)
    {
        var counts = new long[(count + segment - 1) / segment];
        using DeviceBuffer device = backend.Allocate(Math.Max(counts.Length, 1) * sizeof(long));
        backend.Run(() =>
        {
            countEqual ??= backend.Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<float>, ArrayView<double>, TiesKernels.Pair, ulong, int, ArrayView<long>>(TiesKernels.CountEqual);
            var (halves, singles, doubles) = Views(sources!);
            ArrayView<long> result = Bytes(device).Cast<long>().SubView(0, counts.Length);
            countEqual(backend.Streaming(counts.Length), halves, singles, doubles, PairOf(input), threshold, segment, result);
            result.CopyToCPU(counts);
        });
        return counts;
    }

    /// <summary>
    /// Merges the loaded tensor into the device output: input i keeps keys above thresholds[i], and keys
    /// equal to it at indices below cutoffs[i]. Returns, per source, whether it held NaN or an infinity.
    /// </summary>
    public bool[] Merge(IReadOnlyList<double> weights, IReadOnlyList<ulong> thresholds, IReadOnlyList<long> cutoffs, double lambda)
    {
        int inputs = types.Length - 1;
        var flags = new int[types.Length];
        // One small table: six sections of one 8-byte slot per source (offsets, types, weights, thresholds, cutoffs, flags).
        long section = types.Length * 8L;
        using DeviceBuffer table = backend.Allocate(section * 6);
        backend.Run(() =>
        {
            merge ??= backend.Accelerator.LoadStreamKernel<ArrayView<ushort>, ArrayView<float>, ArrayView<double>, ArrayView<long>, ArrayView<int>, ArrayView<double>,
                ArrayView<ulong>, ArrayView<long>, TiesKernels.MergeShape, ArrayView<ushort>, ArrayView<float>, ArrayView<double>, ArrayView<int>>(TiesKernels.Merge);
            ArrayView<byte> t = Bytes(table);
            ArrayView<long> offsetView = t.SubView(0, section).Cast<long>();
            ArrayView<int> typeView = t.SubView(section, section).Cast<int>().SubView(0, types.Length);
            ArrayView<double> weightView = t.SubView(2 * section, section).Cast<double>().SubView(0, inputs);
            ArrayView<ulong> thresholdView = t.SubView(3 * section, section).Cast<ulong>().SubView(0, inputs);
            ArrayView<long> cutoffView = t.SubView(4 * section, section).Cast<long>().SubView(0, inputs);
            ArrayView<int> flagView = t.SubView(5 * section, section).Cast<int>().SubView(0, types.Length);
            offsetView.CopyFromCPU(offsets);
            typeView.CopyFromCPU(types);
            weightView.CopyFromCPU(weights.ToArray());
            thresholdView.CopyFromCPU(thresholds.ToArray());
            cutoffView.CopyFromCPU(cutoffs.ToArray());
            flagView.MemSetToZero();
            var (halves, singles, doubles) = Views(sources!);
            var (outHalves, outSingles, outDoubles) = Views(output!);
            var shape = new TiesKernels.MergeShape { Inputs = inputs, Count = count, Lambda = lambda, OutputType = (int)outputType };
            merge(backend.Streaming(count), halves, singles, doubles, offsetView, typeView, weightView, thresholdView, cutoffView, shape,
                outHalves, outSingles, outDoubles, flagView);
            flagView.CopyToCPU(flags);
        });
        return flags.Select(f => f != 0).ToArray();
    }

    /// <summary>Copies output elements from <paramref name="start"/> into <paramref name="destination"/> (the output type's bytes).</summary>
    public void Download(long start, Span<byte> destination)
    {
        long size = Size(outputType);
        backend.Download(new BufferView(output!, start * size), destination);
    }

    public void Dispose()
    {
        backend.Run(upload.Dispose);
        histogram.Dispose();
        sources?.Dispose();
        output?.Dispose();
    }

    private TiesKernels.Pair PairOf(int input) => new()
    {
        InputOffset = offsets[input],
        InputType = types[input],
        BaseOffset = offsets[^1],
        BaseType = types[^1],
        Count = count,
    };

    private static ArrayView<byte> Bytes(DeviceBuffer buffer) => ((IlgpuBuffer)buffer).Memory.View.AsContiguous();

    private static (ArrayView<ushort>, ArrayView<float>, ArrayView<double>) Views(DeviceBuffer buffer)
    {
        ArrayView<byte> bytes = Bytes(buffer).SubView(0, buffer.ByteLength / Alignment * Alignment);
        return (bytes.Cast<ushort>(), bytes.Cast<float>(), bytes.Cast<double>());
    }

    private static long Aligned(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;

    private static int Size(MergeValueType type) => type switch
    {
        MergeValueType.F16 or MergeValueType.BF16 => 2,
        MergeValueType.F32 => 4,
        _ => 8,
    };
}
