using System.Diagnostics;
using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine.Devices;

/// <summary>One op checked on a device against the CPU backend: the largest error relative to the values' scale.</summary>
public sealed record DeviceCheckResult(string Op, DType DType, double MaxRelativeError, double Tolerance, double Milliseconds, string? Failure = null)
{
    public bool Passed => Failure is null && MaxRelativeError <= Tolerance;
}

/// <summary>
/// Runs every op family (elementwise, reductions, batched and transposed GEMM, conversion, Philox
/// random numbers, activations, softmax, norms, convolution, attention, upsampling, and two backward
/// passes) on a device and on the CPU backend with the same inputs, and compares. It answers "do this
/// machine's GPU kernels compute what the tested CPU backend computes?" on machines where the test suite cannot run (no SDK), and is what scripts/gpu-check.sh reports.
/// </summary>
public static class DeviceCheck
{
    public static IReadOnlyList<DeviceCheckResult> Run(Device device)
    {
        Device cpu = Device.Get("cpu");
        var results = new List<DeviceCheckResult>();
        foreach (DType dtype in DTypeInfo.All)
        {
            foreach (var (name, build) in Cases())
            {
                results.Add(Compare(name, dtype, device, cpu, build));
            }
        }
        // In every dtype: the 16-bit backward passes run on the tensor-core kernels where the device has them.
        foreach (DType dtype in DTypeInfo.All)
        {
            results.Add(Compare("MatMul backward (dA, dB)", dtype, device, cpu, Backward));
            results.Add(Compare("Conv2d → GroupNorm → SiLU backward (dx, dW, dγ)", dtype, device, cpu, NetworkBackward));
            results.Add(Compare("Attention backward, causal and cross (dq, dk, dv)", dtype, device, cpu, AttentionBackward));
        }
        return results;
    }

    /// <summary>Relative tolerance: a few roundings of the dtype, scaled by the magnitude of the results.</summary>
    public static double Tolerance(DType dtype) => dtype switch
    {
        DType.F32 => 1e-5,
        DType.F16 => 4e-3,
        _ => 3e-2,
    };

    private static IEnumerable<(string Name, Func<Device, DType, float[]> Build)> Cases()
    {
        yield return ("Add", (d, t) => Eval(Input(d, t, [37, 65], 1) + Input(d, t, [37, 65], 2)));
        yield return ("Subtract", (d, t) => Eval(Input(d, t, [1000], 3) - Input(d, t, [1000], 4)));
        yield return ("Multiply", (d, t) => Eval(Input(d, t, [3, 333], 5) * Input(d, t, [3, 333], 6)));
        yield return ("Scale", (d, t) => Eval(Input(d, t, [4097], 7) * 0.37f));
        yield return ("Axpy", (d, t) => Eval(Ops.Axpy(-1.5f, Input(d, t, [511], 8), Input(d, t, [511], 9))));
        // Reductions of squares: no cancellation, so the result's size is the scale the error is measured against.
        yield return ("Sum of squares", (d, t) => Eval(Ops.Sum(Square(Input(d, t, [100, 100], 10)))));
        yield return ("Mean axis 0", (d, t) => Eval(Ops.Mean(Square(Input(d, t, [64, 33], 11)), 0)));
        yield return ("Sum axis 1", (d, t) => Eval(Ops.Sum(Square(Input(d, t, [17, 300], 12)), 1)));
        yield return ("MatMul 129×65×257", (d, t) => Eval(Ops.MatMul(Input(d, t, [129, 257], 13), Input(d, t, [257, 65], 14))));
        yield return ("MatMul Aᵀ·Bᵀ", (d, t) => Eval(Ops.MatMul(Input(d, t, [70, 40], 15), Input(d, t, [33, 70], 16), transposeA: true, transposeB: true)));
        yield return ("MatMul batched 3×48×64×80", (d, t) => Eval(Ops.MatMul(Input(d, t, [3, 48, 80], 17), Input(d, t, [3, 80, 64], 18))));
        yield return ("Convert to f32", (d, t) => Eval(Ops.Convert(Input(d, t, [999], 19), DType.F32)));
        yield return ("RandN (Philox)", (d, t) => Eval(Tensor.RandN(new Shape(4, 1001), 99, t, d, offset: 5)));
        yield return ("SiLU", (d, t) => Eval(Ops.Silu(Input(d, t, [3, 500], 23))));
        yield return ("GELU", (d, t) => Eval(Ops.Gelu(Input(d, t, [3, 500], 24))));
        yield return ("Softmax 64×77", (d, t) => Eval(Ops.Softmax(Input(d, t, [64, 77], 25))));
        yield return ("Softmax causal 3×77×77", (d, t) => Eval(Ops.Softmax(Input(d, t, [3, 77, 77], 26), causal: true)));
        yield return ("Softmax 8×1000", (d, t) => Eval(Ops.Softmax(Input(d, t, [8, 1000], 27))));
        yield return ("LayerNorm 77×768", (d, t) => Eval(Ops.LayerNorm(Input(d, t, [77, 768], 28), Input(d, t, [768], 29), Input(d, t, [768], 30))));
        yield return ("GroupNorm 2×64×16×16", (d, t) => Eval(Ops.GroupNorm(Input(d, t, [2, 64, 16, 16], 31), 32, Input(d, t, [64], 32), Input(d, t, [64], 33))));
        yield return ("Conv2d 3×3 2×16×24×24→32", (d, t) => Eval(Ops.Conv2d(Input(d, t, [2, 16, 24, 24], 34), Input(d, t, [32, 16, 3, 3], 35), Input(d, t, [32], 36), 1, Padding2d.Same(1))));
        yield return ("Conv2d stride 2 VAE down", (d, t) => Eval(Ops.Conv2d(Input(d, t, [1, 8, 17, 16], 37), Input(d, t, [8, 8, 3, 3], 38), null, 2, Padding2d.BottomRight(1))));
        yield return ("Attention 2×64×64, 8 heads", (d, t) => Eval(Ops.Attention(Input(d, t, [2, 64, 64], 39), Input(d, t, [2, 64, 64], 40), Input(d, t, [2, 64, 64], 41), 8)));
        yield return ("Attention causal 77 tokens, 12 heads of 64 (CLIP)", (d, t) => Eval(Ops.Attention(Input(d, t, [1, 77, 768], 43), Input(d, t, [1, 77, 768], 44), Input(d, t, [1, 77, 768], 45), 12, causal: true)));
        yield return ("Attention 300×300, heads of 80 (several tiles)", (d, t) => Eval(Ops.Attention(Input(d, t, [1, 300, 160], 46), Input(d, t, [1, 300, 160], 47), Input(d, t, [1, 300, 160], 48), 2)));
        yield return ("Upsample ×2", (d, t) => Eval(Ops.UpsampleNearest(Input(d, t, [1, 4, 9, 7], 42))));
    }

    /// <summary>Runs a case inside a step, so its inputs and intermediates are freed together.</summary>
    private static float[] InStep(Device device, DType dtype, Func<Device, DType, float[]> build)
    {
        using var step = device.BeginStep();
        return build(device, dtype);
    }

    private static float[] Backward(Device device, DType dtype)
    {
        using Tensor a = Input(device, dtype, [31, 47], 20).Persist();
        using Tensor b = Input(device, dtype, [47, 29], 21).Persist();
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        using (Tape tape = Tape.Start())
        {
            tape.Backward(Ops.Sum(Ops.MatMul(a, b) * Input(device, dtype, [31, 29], 22)));
        }
        return [.. a.Grad!.ToArray(), .. b.Grad!.ToArray()];
    }

    private static float[] NetworkBackward(Device device, DType dtype)
    {
        using Tensor x = Input(device, dtype, [2, 8, 12, 12], 50).Persist();
        using Tensor w = Input(device, dtype, [16, 8, 3, 3], 51).Persist();
        using Tensor gamma = Input(device, dtype, [16], 52).Persist();
        using Tensor beta = Input(device, dtype, [16], 53).Persist();
        foreach (Tensor t in new[] { x, w, gamma })
        {
            t.RequiresGrad = true;
        }
        using (Tape tape = Tape.Start())
        {
            Tensor h = Ops.Silu(Ops.GroupNorm(Ops.Conv2d(x, w, null, 1, Padding2d.Same(1)), 4, gamma, beta));
            tape.Backward(Ops.Sum(h * Input(device, dtype, [2, 16, 12, 12], 54)));
        }
        return [.. x.Grad!.ToArray(), .. w.Grad!.ToArray(), .. gamma.Grad!.ToArray()];
    }

    private static float[] AttentionBackward(Device device, DType dtype)
    {
        using Tensor x = Input(device, dtype, [2, 90, 64], 55).Persist();
        using Tensor context = Input(device, dtype, [2, 70, 64], 56).Persist();
        x.RequiresGrad = true;
        context.RequiresGrad = true;
        using (Tape tape = Tape.Start())
        {
            Tensor self = Ops.Attention(x, x, x, 2, causal: true);
            Tensor cross = Ops.Attention(self, context, context, 4);
            tape.Backward(Ops.Sum(cross * Input(device, dtype, [2, 90, 64], 57)));
        }
        return [.. x.Grad!.ToArray(), .. context.Grad!.ToArray()];
    }

    internal static DeviceCheckResult Compare(string name, DType dtype, Device device, Device cpu, Func<Device, DType, float[]> build)
    {
        try
        {
            float[] expected = InStep(cpu, dtype, build);
            var clock = Stopwatch.StartNew();
            float[] actual = InStep(device, dtype, build);
            double elapsed = clock.Elapsed.TotalMilliseconds;
            double scale = Math.Max(1e-30, expected.Max(v => Math.Abs((double)v)));
            double worst = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs((double)actual[i] - expected[i]) / scale;
                worst = double.IsNaN(error) ? double.PositiveInfinity : Math.Max(worst, error);
            }
            return new DeviceCheckResult(name, dtype, worst, Tolerance(dtype), elapsed);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new DeviceCheckResult(name, dtype, double.PositiveInfinity, Tolerance(dtype), 0, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private static Tensor Input(Device device, DType dtype, int[] dims, ulong seed) => Tensor.RandN(new Shape(dims), seed, dtype, device);

    private static float[] Eval(Tensor t) => t.ToArray();

    private static Tensor Square(Tensor t) => t * t;
}
