using System.CommandLine;
using System.Globalization;
using Dsoup.Engine;
using Dsoup.Engine.Autograd;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Cli.Commands;

/// <summary>
/// `dsoup bench ops`: the neural-network ops at Stable Diffusion 1.5 shapes (latent 64×64, batch 2), each
/// against a baseline in the same run: conv 3×3 against im2col + OpenBLAS sgemm, attention against its
/// GEMMs alone (which hold the full score matrix the fused op never does), GroupNorm and SiLU against a
/// plain copy of the same tensor.
/// </summary>
internal static class BenchOpsCommand
{
    public static Command Create(CliContext context)
    {
        var repeat = new Option<int>("--repeat") { Description = "Timed repetitions of each case (after one warm-up).", DefaultValueFactory = _ => 3 };
        var size = new Option<int>("--size") { Description = "Latent height and width.", DefaultValueFactory = _ => 64 };
        var channels = new Option<int>("--channels") { Description = "Channels of the feature map (SD 1.5's first block: 320).", DefaultValueFactory = _ => 320 };
        var batch = new Option<int>("--batch") { Description = "Batch size (2: guidance's unconditional and conditional halves).", DefaultValueFactory = _ => 2 };
        var only = new Option<string>("--only") { Description = "Cases to run: conv, attention, pointwise, or all.", DefaultValueFactory = _ => "all" };
        var command = new Command("ops", "Time conv 3×3, attention, GroupNorm and SiLU at SD 1.5 shapes against baselines run in the same process.")
        {
            repeat, size, channels, batch, only,
        };
        command.SetAction(result => context.Run(() =>
        {
            Device device = context.Device(result);
            var shape = new Workload(result.GetValue(batch), result.GetValue(channels), result.GetValue(size), Math.Max(1, result.GetValue(repeat)));
            string cases = result.GetValue(only)!;
            TextWriter output = context.Output;
            output.WriteLine($"device {device.Name}: {device.Description}; batch {shape.Batch}, {shape.Channels} channels, {shape.Size}×{shape.Size}; medians of {shape.Repeat}");
            if (cases is "all" or "conv")
            {
                Convolution(device, shape, output);
            }
            if (cases is "all" or "attention")
            {
                Attention(device, shape, output, keys: shape.Size * shape.Size, "self");
                Attention(device, shape, output, keys: 77, "cross");
            }
            if (cases is "all" or "pointwise")
            {
                Pointwise(device, shape, output);
            }
            return 0;
        }));
        return command;
    }

    private sealed record Workload(int Batch, int Channels, int Size, int Repeat)
    {
        public int Pixels => Size * Size;
    }

    private static double Time(Workload w, Action run)
    {
        run();
        return Measure.MedianSeconds(w.Repeat, run);
    }

    private static void Line(TextWriter output, FormattableString text) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{text}"));

    private static void Convolution(Device device, Workload w, TextWriter output)
    {
        int c = w.Channels;
        using Tensor x = Tensor.RandN(new Shape(w.Batch, c, w.Size, w.Size), 1, DType.F32, device).Persist();
        using Tensor weight = (Tensor.RandN(new Shape(c, c, 3, 3), 2, DType.F32, device) * 0.02f).Persist();
        using Tensor bias = Tensor.Zeros(new Shape(c), DType.F32, device).Persist();
        double forward = Time(w, () =>
        {
            using var step = device.BeginStep();
            Ops.Conv2d(x, weight, bias, 1, Padding2d.Same(1));
            device.Synchronize();
        });
        double both = Time(w, () =>
        {
            using var step = device.BeginStep();
            x.RequiresGrad = weight.RequiresGrad = true;
            using (Tape tape = Tape.Start())
            {
                Tensor y = Ops.Conv2d(x, weight, bias, 1, Padding2d.Same(1));
                tape.Backward(y, Tensor.Ones(y.Shape, DType.F32, device));
            }
            device.Synchronize();
            x.RequiresGrad = weight.RequiresGrad = false;
            x.ZeroGrad();
            weight.ZeroGrad();
        });
        double gflop = 2.0 * w.Batch * w.Pixels * c * c * 9 / 1e9;
        Line(output, $"conv 3×3 {c}→{c}: forward {forward * 1e3:F0} ms ({gflop / forward:F1} GFLOP/s), forward+backward {both * 1e3:F0} ms ({3 * gflop / both:F1} GFLOP/s)");
        if (!OpenBlas.Available)
        {
            output.WriteLine("  baseline skipped: OpenBLAS (libopenblas.so.0) is not installed");
            return;
        }
        var baseline = new Im2ColBaseline(x.ToArray(), weight.ToArray(), w.Batch, c, w.Size, c);
        double baseForward = Time(w, baseline.Forward);
        double baseBoth = Time(w, () =>
        {
            baseline.Forward();
            baseline.Backward();
        });
        Line(output, $"  im2col + OpenBLAS sgemm: forward {baseForward * 1e3:F0} ms, forward+backward {baseBoth * 1e3:F0} ms; speed ratio ours/baseline: forward {baseForward / forward:F2}, forward+backward {baseBoth / both:F2}");
    }

    private static void Attention(Device device, Workload w, TextWriter output, int keys, string kind)
    {
        const int heads = 8;
        int queries = w.Pixels, c = w.Channels, d = c / heads;
        using Tensor q = Tensor.RandN(new Shape(w.Batch, queries, c), 3, DType.F32, device).Persist();
        using Tensor kv = Tensor.RandN(new Shape(w.Batch, keys, c), 4, DType.F32, device).Persist();
        long peak = 0;
        double forward = Time(w, () =>
        {
            using var step = device.BeginStep();
            Ops.Attention(q, kv, kv, heads);
            device.Synchronize();
            peak = Math.Max(peak, step.PeakBytes);
        });
        double both = Time(w, () =>
        {
            using var step = device.BeginStep();
            q.RequiresGrad = kv.RequiresGrad = true;
            using (Tape tape = Tape.Start())
            {
                Tensor o = Ops.Attention(q, kv, kv, heads);
                tape.Backward(o, Tensor.Ones(o.Shape, DType.F32, device));
            }
            device.Synchronize();
            peak = Math.Max(peak, step.PeakBytes);
            q.RequiresGrad = kv.RequiresGrad = false;
            q.ZeroGrad();
            kv.ZeroGrad();
        });
        // The GEMMs alone: Q·Kᵀ and P·V forward; backward adds dP = dO·Vᵀ, dV = Pᵀ·dO, dQ = dS·K, dK = dSᵀ·Q.
        using Tensor qh = Tensor.RandN(new Shape(w.Batch * heads, queries, d), 5, DType.F32, device).Persist();
        using Tensor kh = Tensor.RandN(new Shape(w.Batch * heads, keys, d), 6, DType.F32, device).Persist();
        using Tensor p = Tensor.RandUniform(new Shape(w.Batch * heads, queries, keys), 7, DType.F32, device).Persist();
        double gemms = Time(w, () =>
        {
            using var step = device.BeginStep();
            Ops.MatMul(qh, kh, transposeB: true);
            Ops.MatMul(p, kh);
            device.Synchronize();
        });
        double gemmsBoth = Time(w, () =>
        {
            using var step = device.BeginStep();
            Ops.MatMul(qh, kh, transposeB: true);
            Ops.MatMul(p, kh);
            Ops.MatMul(qh, kh, transposeB: true);
            Ops.MatMul(p, qh, transposeA: true);
            Ops.MatMul(p, kh);
            Ops.MatMul(p, qh, transposeA: true);
            device.Synchronize();
        });
        long scores = (long)w.Batch * heads * queries * keys * sizeof(float);
        Line(output, $"attention {kind} {queries}×{keys}, {c} channels, {heads} heads: forward {forward * 1e3:F0} ms (GEMMs alone {gemms * 1e3:F0} ms, ratio {gemms / forward:F2}); forward+backward {both * 1e3:F0} ms (GEMMs alone {gemmsBoth * 1e3:F0} ms, ratio {gemmsBoth / both:F2}); peak step memory {Units.Bytes(peak)} (the f32 scores alone would be {Units.Bytes(scores)})");
    }

    private static void Pointwise(Device device, Workload w, TextWriter output)
    {
        using Tensor x = Tensor.RandN(new Shape(w.Batch, w.Channels, w.Size, w.Size), 8, DType.F32, device).Persist();
        using Tensor gamma = Tensor.Ones(new Shape(w.Channels), DType.F32, device).Persist();
        using Tensor beta = Tensor.Zeros(new Shape(w.Channels), DType.F32, device).Persist();
        double bytes = 2.0 * x.ByteCount;
        double Rate(Func<Tensor> op) => bytes / Time(w, () =>
        {
            using var step = device.BeginStep();
            op();
            device.Synchronize();
        }) / 1e9;
        double copy = Rate(() => Ops.Copy(x));
        double norm = Rate(() => Ops.GroupNorm(x, 32, gamma, beta));
        double silu = Rate(() => Ops.Silu(x));
        Line(output, $"pointwise on {Units.Bytes(x.ByteCount)} (bytes read + written): copy {copy:F1} GB/s; GroupNorm(32) {norm:F1} GB/s = {norm / copy:F2}× copy; SiLU {silu:F1} GB/s = {silu / copy:F2}× copy");
    }
}
