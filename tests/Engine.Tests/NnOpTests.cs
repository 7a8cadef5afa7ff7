using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

/// <summary>The neural-network ops, forward against float64 references and backward against finite differences, on every backend and dtype.</summary>
public class NnOpTests
{
    private static double[] Map(double[] x, Func<double, double> f) => x.Select(f).ToArray();

    private static OpCase Convolution(string name, int n, int c, int h, int w, int o, int k, int stride, Padding2d pad, bool bias, long? budget = null) =>
        new(name, bias ? [new(n, c, h, w), new(o, c, k, k), new(o)] : [new(n, c, h, w), new(o, c, k, k)],
            t =>
            {
                Dsoup.Kernels.Cpu.Nn.CpuConvolution.ColumnBudget = budget;
                try
                {
                    return Ops.Conv2d(t[0], t[1], bias ? t[2] : null, stride, pad);
                }
                finally
                {
                    Dsoup.Kernels.Cpu.Nn.CpuConvolution.ColumnBudget = null;
                }
            },
            x => NnReference.Conv2d(x[0], x[1], bias ? x[2] : null, n, c, h, w, o, k, k, stride, pad.Top, pad.Left, pad.Bottom, pad.Right));

    /// <summary>A convolution case checked backward against the float64 gradient formula (too large for finite differences).</summary>
    private static OpCase LargeConvolution(string name, int n, int c, int h, int w, int o, int k, int stride, Padding2d pad) =>
        Convolution(name, n, c, h, w, o, k, stride, pad, bias: true) with
        {
            Gradient = (x, seed) => NnReference.Conv2dGradient(x[0], x[1], x[2], seed, n, c, h, w, o, k, k, stride,
                pad.Top, pad.Left, pad.Bottom, pad.Right),
        };

    private static OpCase AttentionCase(string name, int batch, int queries, int keys, int channels, int heads, bool causal) =>
        new(name, [new(batch, queries, channels), new(batch, keys, channels), new(batch, keys, channels)],
            t => Ops.Attention(t[0], t[1], t[2], heads, causal),
            x => NnReference.Attention(x[0], x[1], x[2], batch, queries, keys, channels, heads, causal));

    /// <summary>An attention case checked backward against the float64 gradient formula (too large for finite differences).</summary>
    private static OpCase LargeAttentionCase(string name, int batch, int queries, int keys, int channels, int heads, bool causal) =>
        AttentionCase(name, batch, queries, keys, channels, heads, causal) with
        {
            Gradient = (x, seed) => NnReference.AttentionGradient(x[0], x[1], x[2], seed, batch, queries, keys, channels, heads, causal),
        };

    public static readonly OpCase[] Cases =
    [
        new("Silu", [new(3, 11)], t => Ops.Silu(t[0]), x => Map(x[0], NnReference.Silu)) { Scale = 4 },
        new("Gelu", [new(3, 11)], t => Ops.Gelu(t[0]), x => Map(x[0], NnReference.Gelu)) { Scale = 4 },
        new("QuickGelu", [new(3, 11)], t => Ops.QuickGelu(t[0]), x => Map(x[0], NnReference.QuickGelu)) { Scale = 4 },
        new("Geglu", [new(2, 3, 8)], t => Ops.Geglu(t[0]), x => Enumerable.Range(0, 6)
            .SelectMany(r => Enumerable.Range(0, 4).Select(j => x[0][r * 8 + j] * NnReference.Gelu(x[0][r * 8 + 4 + j]))).ToArray()) { Scale = 2 },
        new("Softmax", [new(2, 3, 7)], t => Ops.Softmax(t[0]), x => NnReference.Softmax(x[0], 7)) { Scale = 3 },
        new("SoftmaxCausal", [new(2, 3, 5)], t => Ops.Softmax(t[0], causal: true), x => NnReference.Softmax(x[0], 5, queries: 3)) { Scale = 3 },
        new("LayerNorm", [new(5, 9), new(9), new(9)], t => Ops.LayerNorm(t[0], t[1], t[2]),
            x => NnReference.LayerNorm(x[0], x[1], x[2], 9, 1e-5)) { Scale = 2 },
        new("GroupNorm", [new(2, 6, 3, 2), new(6), new(6)], t => Ops.GroupNorm(t[0], 3, t[1], t[2], 1e-6f),
            x => NnReference.GroupNorm(x[0], x[1], x[2], 2, 6, 3, 6, 1e-6)) { Scale = 2 },
        // Rows longer than the GPU kernels' one-thread-per-row limit (256) take the group-per-row path.
        new("SoftmaxLongRows", [new(2, 300)], t => Ops.Softmax(t[0]), x => NnReference.Softmax(x[0], 300)) { Scale = 3 },
        new("SoftmaxCausalLongRows", [new(3, 300)], t => Ops.Softmax(t[0], causal: true), x => NnReference.Softmax(x[0], 300, queries: 3)) { Scale = 3 },
        new("LayerNormLongRows", [new(3, 300), new(300), new(300)], t => Ops.LayerNorm(t[0], t[1], t[2]),
            x => NnReference.LayerNorm(x[0], x[1], x[2], 300, 1e-5)) { Scale = 2 },
        new("GroupNormLongRows", [new(2, 4, 12, 12), new(4), new(4)], t => Ops.GroupNorm(t[0], 2, t[1], t[2]),
            x => NnReference.GroupNorm(x[0], x[1], x[2], 2, 4, 2, 144, 1e-5)) { Scale = 2 },
        new("Narrow", [new(2, 5, 3)], t => Ops.Narrow(t[0], 1, 1, 3) * 2f,
            x => Enumerable.Range(0, 2).SelectMany(o => x[0].Skip(o * 15 + 3).Take(9)).Select(v => 2 * v).ToArray()),
        new("Concat", [new(2, 2, 3), new(2, 1, 3)], t => Ops.Concat([t[0], t[1]], 1) * 3f,
            x => Enumerable.Range(0, 2).SelectMany(o => x[0].Skip(o * 6).Take(6).Concat(x[1].Skip(o * 3).Take(3))).Select(v => 3 * v).ToArray()),
        new("SwapAxes", [new(2, 3, 4, 2)], t => Ops.SwapAxes(t[0], 1) * 0.5f, x =>
        {
            var y = new double[48];
            for (int o = 0; o < 2; o++)
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 4; b++)
                        for (int i = 0; i < 2; i++)
                            y[((o * 4 + b) * 3 + a) * 2 + i] = 0.5 * x[0][((o * 3 + a) * 4 + b) * 2 + i];
            return y;
        }),
        new("AddPerChannel", [new(2, 3, 2, 2), new(2, 3)], t => Ops.AddPerChannel(t[0], t[1]),
            x => x[0].Select((v, i) => v + x[1][i / 4]).ToArray()),
        new("UpsampleNearest", [new(1, 2, 2, 3)], t => Ops.UpsampleNearest(t[0], 2) * 1.5f, x =>
        {
            var y = new double[48];
            for (int p = 0; p < 2; p++)
                for (int r = 0; r < 4; r++)
                    for (int c = 0; c < 6; c++)
                        y[(p * 4 + r) * 6 + c] = 1.5 * x[0][(p * 2 + r / 2) * 3 + c / 2];
            return y;
        }),
        Convolution("Conv3x3", 2, 3, 5, 4, 4, 3, 1, Padding2d.Same(1), bias: true),
        Convolution("Conv3x3Tiled", 1, 2, 4, 5, 3, 3, 1, Padding2d.Same(1), bias: true, budget: 2 * 18 + 5),
        Convolution("Conv3x3Stride2VaeDown", 1, 2, 6, 5, 3, 3, 2, Padding2d.BottomRight(1), bias: true),
        Convolution("Conv1x1", 2, 4, 3, 3, 5, 1, 1, Padding2d.Same(0), bias: false),
        // Shapes that cross the GPU implicit GEMM's 64×64 tiles and 16-deep k steps in every operand (output
        // channels, pixels, patch; input pixels and O·kh·kw for the input's gradient; batch·pixels for the weight's).
        LargeConvolution("Conv3x3Tiles", 2, 8, 9, 10, 70, 3, 1, Padding2d.Same(1)),
        LargeConvolution("Conv3x3Stride2Tiles", 1, 5, 17, 15, 66, 3, 2, Padding2d.BottomRight(1)),
        new("Linear", [new(2, 3, 5), new(4, 5), new(4)], t => Ops.Linear(t[0], t[1], t[2]), x =>
            Enumerable.Range(0, 6).SelectMany(r => Enumerable.Range(0, 4).Select(o =>
                x[2][o] + Enumerable.Range(0, 5).Sum(i => x[0][r * 5 + i] * x[1][o * 5 + i]))).ToArray()),
        AttentionCase("SelfAttention", 2, 5, 5, 8, 2, causal: false),
        AttentionCase("CrossAttention", 1, 6, 3, 8, 4, causal: false),
        AttentionCase("CausalAttention", 1, 4, 4, 6, 3, causal: true),
        // Shapes that cross the CPU's blocks (128 queries, 256 keys) and the GPU kernels' 64-row groups and
        // shared tiles (2048 floats: 128 rows of a 16-wide head, 25 of an 80-wide one).
        LargeAttentionCase("AttentionBlocks", 2, 70, 300, 32, 2, causal: false),
        LargeAttentionCase("CausalAttentionBlocks", 1, 300, 300, 16, 1, causal: true),
        LargeAttentionCase("CausalAttentionMoreKeys", 1, 100, 300, 8, 1, causal: true),
        LargeAttentionCase("AttentionWideHeads", 1, 20, 60, 160, 2, causal: false),
        LargeAttentionCase("AttentionHead160", 1, 70, 40, 160, 1, causal: false),
        LargeAttentionCase("AttentionHead40Causal", 1, 66, 70, 80, 2, causal: true),
        new("MseWeighted", [new(3, 2, 2), new(3, 2, 2), new(3)], t => Ops.MseLoss(t[0], t[1], t[2]), x =>
            [Enumerable.Range(0, 3).Sum(n => x[2][n] * Enumerable.Range(0, 4).Average(j => Math.Pow(x[0][n * 4 + j] - x[1][n * 4 + j], 2))) / 3]),
    ];

    public static TheoryData<string, string, DType> Matrix3 => OpMatrix.Of(Cases);

    [Theory]
    [MemberData(nameof(Matrix3))]
    public void Forward(string op, string device, DType dtype) =>
        OpHarness.CheckForward(Cases.Single(c => c.Name == op), device, dtype);

    [Theory]
    [MemberData(nameof(Matrix3))]
    public void Backward(string op, string device, DType dtype) =>
        OpHarness.CheckBackward(Cases.Single(c => c.Name == op), device, dtype);

    /// <summary>The gradient formula the large attention cases are checked against, itself checked by finite differences.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AttentionGradientFormulaAgreesWithFiniteDifferences(bool causal) =>
        AssertGradientFormulaMatchesFiniteDifferences(LargeAttentionCase("small", 2, 5, causal ? 7 : 4, 6, 2, causal));

    /// <summary>The same for the large convolution cases' formula, at stride 1 and at the VAE's stride 2.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ConvolutionGradientFormulaAgreesWithFiniteDifferences(int stride) =>
        AssertGradientFormulaMatchesFiniteDifferences(
            LargeConvolution("small", 2, 2, 5, 4, 3, 3, stride, stride == 1 ? Padding2d.Same(1) : Padding2d.BottomRight(1)));

    private static void AssertGradientFormulaMatchesFiniteDifferences(OpCase small)
    {
        var random = new System.Random(7);
        double[][] inputs = small.Inputs.Select(shape => Reference.RandomValues(random, shape.Count, DType.F32)).ToArray();
        double[] seed = Reference.RandomValues(random, small.Reference(inputs).Length, DType.F32);
        double[][] formula = small.Gradient!(inputs, seed);
        for (int i = 0; i < inputs.Length; i++)
        {
            double[] numeric = OpHarness.FiniteDifference(small, inputs, i, seed);
            double tolerance = 1e-6 * numeric.Max(Math.Abs);
            Assert.All(Enumerable.Range(0, numeric.Length), e => Assert.True(Math.Abs(formula[i][e] - numeric[e]) <= tolerance,
                $"input {i} element {e}: formula {formula[i][e]}, finite differences {numeric[e]}"));
        }
    }
}
