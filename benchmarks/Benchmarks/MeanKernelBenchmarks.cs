using BenchmarkDotNet.Attributes;
using Dsoup.Kernels.Cpu.Merge;

namespace Dsoup.Benchmarks;

/// <summary>
/// The exact soup's per-block kernels on one 64 Ki-element block of f16 values shaped like fine-tune
/// weights (N(0, 0.05) plus a per-input perturbation): adding one input into 32-bit sums, and the fused,
/// correctly rounded f16 mean of N inputs' 64-bit sums. The baseline converts one block of f16 to f32
/// (System.Numerics.Tensors), the cheapest useful pass over the same values.
/// Run: dotnet run -c Release --project benchmarks/Benchmarks -- --filter '*MeanKernel*'
/// </summary>
public class MeanKernelBenchmarks
{
    private const int Block = 1 << 16;
    private readonly ushort[][] inputs = new ushort[8][];
    private readonly long[] sums = new long[Block];
    private readonly int[] small = new int[Block];
    private readonly ushort[] output = new ushort[Block];
    private readonly float[] floats = new float[Block];

    /// <summary>Inputs averaged: a power of two (exact quotients, many exact f16 midpoints) or not.</summary>
    [Params(7, 8)]
    public int Inputs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        double[] weights = Enumerable.Range(0, Block).Select(_ => Normal(random) * 0.05).ToArray();
        Array.Clear(sums);
        for (int i = 0; i < Inputs; i++)
        {
            inputs[i] = weights.Select(w => BitConverter.HalfToUInt16Bits((Half)(w + Normal(random) * 0.005))).ToArray();
            FixedPointKernels.AccumulateF16(inputs[i], sums, 1);
        }
    }

    [Benchmark(Baseline = true, Description = "f16 → f32, one block")]
    public void Convert() => System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, Half>(inputs[0]), floats);

    [Benchmark(Description = "add one input into 32-bit sums")]
    public void Accumulate() => FixedPointKernels.AccumulateF16Small(inputs[0], small, 1);

    [Benchmark(Description = "correctly rounded f16 mean of the sums")]
    public void Mean() => FixedPointKernels.MeanF16(sums, FixedPointKernels.F16Exponent, Inputs, output);

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
