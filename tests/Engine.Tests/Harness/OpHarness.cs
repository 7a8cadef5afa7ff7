using Dsoup.Engine.Autograd;

namespace Dsoup.Engine.Tests.Harness;

/// <summary>The op-test harness every op goes through (see <see cref="OpCase"/>).</summary>
public static class OpHarness
{
    /// <summary>
    /// Backends every op is checked on: the managed SIMD one and the ILGPU kernels on ILGPU's CPU
    /// accelerator; DSOUP_TEST_DEVICES (e.g. "cuda") replaces the list on a machine with a GPU.
    /// </summary>
    public static readonly string[] Devices =
        Environment.GetEnvironmentVariable("DSOUP_TEST_DEVICES") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : ["cpu", "ilgpu-cpu"];

    /// <summary>Relative tolerance per dtype: a few units of rounding of the storage type.</summary>
    public static double Tolerance(DType dtype) => dtype switch
    {
        DType.F32 => 2e-5,
        DType.F16 => 6e-3,
        _ => 5e-2,
    };

    /// <summary>
    /// |actual − expected| ≤ rtol·(|expected| + max|expected|): relative to each value and to the values' own
    /// scale, never to a fixed 1, so a result scaled down (or zero) fails however small the values are.
    /// </summary>
    public static void AssertMatches(ReadOnlySpan<float> actual, IReadOnlyList<double> expected, DType dtype, string what)
    {
        double rtol = Tolerance(dtype);
        double magnitude = expected.Select(Math.Abs).DefaultIfEmpty(0).Max();
        Reference.AssertClose(actual, expected, rtol, rtol * magnitude, what);
    }

    public static void CheckForward(OpCase op, string deviceName, DType dtype, int seed = 1)
    {
        Device device = Device.Get(deviceName);
        double[][] inputs = Inputs(op, dtype, seed);
        using var scope = device.BeginStep();
        Tensor[] tensors = ToTensors(op, inputs, dtype, device);
        Tensor result = op.Run(tensors);
        double[] expected = op.Reference(inputs);
        Assert.Equal(dtype, result.DType);
        AssertMatches(result.ToArray(), expected, dtype, $"{op.Name} forward on {deviceName} in {dtype.Name()}");
    }

    public static void CheckBackward(OpCase op, string deviceName, DType dtype, int seed = 1)
    {
        Device device = Device.Get(deviceName);
        double[][] inputs = Inputs(op, dtype, seed);
        using var scope = device.BeginStep();
        Tensor[] tensors = ToTensors(op, inputs, dtype, device);
        foreach (Tensor t in tensors)
        {
            t.RequiresGrad = true;
        }
        Tensor result;
        double[] seedValues;
        using (Tape tape = Tape.Start())
        {
            result = op.Run(tensors);
            seedValues = Reference.RandomValues(new System.Random(seed + 1000), result.Count, dtype);
            using Tensor seedTensor = Tensor.FromArray(Reference.ToFloats(seedValues), result.Shape, dtype, device);
            tape.Backward(result, seedTensor);
        }

        double[][]? analytic = op.Gradient?.Invoke(inputs, seedValues);
        for (int i = 0; i < tensors.Length; i++)
        {
            double[] numeric = analytic?[i] ?? FiniteDifference(op, inputs, i, seedValues);
            Assert.NotNull(tensors[i].Grad);
            AssertMatches(tensors[i].Grad!.ToArray(), numeric, dtype, $"{op.Name} gradient of input {i} on {deviceName} in {dtype.Name()}");
            tensors[i].Dispose();
        }
    }

    /// <summary>∂/∂x_i of Σ_j seed_j · f(x)_j by central differences on the float64 reference.</summary>
    public static double[] FiniteDifference(OpCase op, double[][] inputs, int which, double[] seed)
    {
        const double h = 1e-6;
        double[] x = inputs[which];
        var gradient = new double[x.Length];
        for (int e = 0; e < x.Length; e++)
        {
            double saved = x[e];
            x[e] = saved + h;
            double plus = Dot(op.Reference(inputs), seed);
            x[e] = saved - h;
            double minus = Dot(op.Reference(inputs), seed);
            x[e] = saved;
            gradient[e] = (plus - minus) / (2 * h);
        }
        return gradient;
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    private static double[][] Inputs(OpCase op, DType dtype, int seed)
    {
        var random = new System.Random(seed);
        return op.Inputs.Select(shape => Reference.RandomValues(random, shape.Count, dtype, op.Scale)).ToArray();
    }

    private static Tensor[] ToTensors(OpCase op, double[][] inputs, DType dtype, Device device) =>
        op.Inputs.Select((shape, i) => Tensor.FromArray(Reference.ToFloats(inputs[i]), shape, dtype, device)).ToArray();
}
