using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Dsoup.Kernels;
using Dsoup.Kernels.Cpu;

namespace Dsoup.Benchmarks;

/// <summary>
/// CPU SGEMM C = A·B (row-major, f32) on every core: dsoup's blocked micro-kernel GEMM against two
/// baselines in the same run: TensorPrimitives.Dot over rows of a pre-transposed B (rows split over
/// the cores), and OpenBLAS cblas_sgemm. GFLOP/s = 2·M·N·K / median time.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
[MedianColumn]
public unsafe class GemmBenchmarks
{
    private readonly CpuBackend backend = new();
    private DeviceBuffer? a, b, c;
    private float[] bTransposed = [];
    private float* pa, pb, pc;
    private int m, n, k;

    [Params("256x256x256", "1024x1024x1024", "4096x320x320")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        int[] d = Shape.Split('x').Select(int.Parse).ToArray();
        (m, n, k) = (d[0], d[1], d[2]);
        a = backend.Allocate((long)m * k * 4);
        b = backend.Allocate((long)k * n * 4);
        c = backend.Allocate((long)m * n * 4);
        var random = new Random(1);
        float[] av = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble()).ToArray();
        float[] bv = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble()).ToArray();
        backend.Upload(MemoryMarshal.AsBytes(av.AsSpan()), new BufferView(a, 0));
        backend.Upload(MemoryMarshal.AsBytes(bv.AsSpan()), new BufferView(b, 0));
        bTransposed = new float[n * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < n; j++)
            {
                bTransposed[j * k + i] = bv[i * n + j];
            }
        }
        pa = (float*)Marshal.AllocHGlobal(m * k * 4);
        pb = (float*)Marshal.AllocHGlobal(k * n * 4);
        pc = (float*)Marshal.AllocHGlobal(m * n * 4);
        av.CopyTo(new Span<float>(pa, m * k));
        bv.CopyTo(new Span<float>(pb, k * n));
        Console.WriteLine($"// GEMM micro-kernel: {CpuBackend.GemmKernels[0]}; OpenBLAS core: {OpenBlas.CoreName}, threads {OpenBlas.Threads}; cores {Environment.ProcessorCount}");
    }

    [Benchmark(Baseline = true)]
    public void Dsoup() => backend.Gemm(new GemmProblem(1, m, n, k, false, false, DType.F32,
        new BufferView(a!, 0), 0, new BufferView(b!, 0), 0, new BufferView(c!, 0), 0));

    [Benchmark]
    public void TensorPrimitivesDot()
    {
        float* lhs = pa, result = pc;
        int kk = k, nn = n;
        float[] bt = bTransposed;
        Parallel.For(0, m, i =>
        {
            var row = new ReadOnlySpan<float>(lhs + (long)i * kk, kk);
            for (int j = 0; j < nn; j++)
            {
                result[(long)i * nn + j] = TensorPrimitives.Dot(row, bt.AsSpan(j * kk, kk));
            }
        });
    }

    [Benchmark]
    public void OpenBlasSgemm()
    {
        if (!OpenBlas.Available)
        {
            throw new InvalidOperationException("libopenblas.so.0 is not installed (apt-get install libopenblas0)");
        }
        OpenBlas.Sgemm(m, n, k, pa, pb, pc);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a?.Dispose();
        b?.Dispose();
        c?.Dispose();
        Marshal.FreeHGlobal((nint)pa);
        Marshal.FreeHGlobal((nint)pb);
        Marshal.FreeHGlobal((nint)pc);
    }
}
