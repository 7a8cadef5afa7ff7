using System.Runtime.InteropServices;
using Dsoup.Engine.Autograd;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Optim;
using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

/// <summary>
/// The ops against PyTorch's own (Fixtures/ops/torch_ops.safetensors, written by make_op_fixtures.py beside
/// it with Debian's torch and diffusers): outputs and input gradients in f32 on every backend, a second
/// oracle next to the float64 references.
/// </summary>
public class TorchOpFixtureTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ops", "torch_ops.safetensors");

    /// <summary>Each case as make_op_fixtures.py runs it, on the same settings.</summary>
    private static readonly Dictionary<string, Func<Tensor[], Tensor>> Cases = new()
    {
        ["conv3x3"] = t => Ops.Conv2d(t[0], t[1], t[2], 1, Padding2d.Same(1)),
        ["conv_vae_down"] = t => Ops.Conv2d(t[0], t[1], t[2], 2, Padding2d.BottomRight(1)),
        ["conv1x1"] = t => Ops.Conv2d(t[0], t[1], null, 1, Padding2d.Same(0)),
        ["group_norm"] = t => Ops.GroupNorm(t[0], 4, t[1], t[2], 1e-6f),
        ["layer_norm"] = t => Ops.LayerNorm(t[0], t[1], t[2], 1e-5f),
        ["gelu"] = t => Ops.Gelu(t[0]),
        ["silu"] = t => Ops.Silu(t[0]),
        ["quick_gelu"] = t => Ops.QuickGelu(t[0]),
        ["geglu"] = t => Ops.Geglu(t[0]),
        ["attention"] = t => Ops.Attention(t[0], t[1], t[2], heads: 2),
        ["attention_causal"] = t => Ops.Attention(t[0], t[1], t[2], heads: 3, causal: true),
        ["upsample"] = t => Ops.UpsampleNearest(t[0], 2),
        ["linear"] = t => Ops.Linear(t[0], t[1], t[2]),
        ["mse_weighted"] = t => Ops.MseLoss(t[0], t[1], t[2]),
    };

    public static TheoryData<string, string> CaseMatrix()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in Cases.Keys)
        {
            foreach (string device in OpHarness.Devices)
            {
                data.Add(name, device);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseMatrix))]
    public void ForwardAndGradientsMatchTorch(string name, string deviceName)
    {
        Device device = Device.Get(deviceName);
        using SafetensorsReader fixture = SafetensorsReader.Open(FixturePath);
        int count = fixture.Tensors.Count(t => t.Name.StartsWith(name + ".in", StringComparison.Ordinal));
        Assert.True(count > 0, $"the fixture has no inputs for {name}");
        using var scope = device.BeginStep();
        Tensor[] inputs = Enumerable.Range(0, count).Select(i => Load(fixture, $"{name}.in{i}", device)).ToArray();
        foreach (Tensor input in inputs)
        {
            input.RequiresGrad = true;
        }
        Tensor output;
        using (Tape tape = Tape.Start())
        {
            output = Cases[name](inputs);
            using Tensor seed = Load(fixture, $"{name}.seed", device).Reshape(output.Shape.Dims.ToArray());
            tape.Backward(output, seed);
        }
        OpHarness.AssertMatches(output.ToArray(), Values(fixture, $"{name}.out"), DType.F32, $"{name} on {deviceName} against torch");
        for (int i = 0; i < count; i++)
        {
            OpHarness.AssertMatches(inputs[i].Grad!.ToArray(), Values(fixture, $"{name}.grad{i}"), DType.F32,
                $"{name} gradient of input {i} on {deviceName} against torch");
            inputs[i].Dispose();
        }
    }

    [Theory]
    [InlineData("timestep_flip", 32, true, 0f)]
    [InlineData("timestep_shift_odd", 33, false, 1f)]
    public void TimestepEmbeddingMatchesDiffusers(string name, int dim, bool flipSinToCos, float freqShift)
    {
        using SafetensorsReader fixture = SafetensorsReader.Open(FixturePath);
        using Tensor embedding = Ops.TimestepEmbedding([0f, 1f, 250f, 999f], dim, flipSinToCos, freqShift, DType.F32, Device.Get("cpu"));
        OpHarness.AssertMatches(embedding.ToArray(), Values(fixture, $"{name}.out"), DType.F32, name);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AdamWWithClippingFollowsTorchOverThreeSteps(string deviceName)
    {
        Device device = Device.Get(deviceName);
        using SafetensorsReader fixture = SafetensorsReader.Open(FixturePath);
        using Tensor p = Load(fixture, "adamw.start", device).Persist();
        p.RequiresGrad = true;
        using var adam = new AdamW([p], learningRate: 0.05f, beta1: 0.8f, beta2: 0.95f, epsilon: 1e-3f, weightDecay: 0.1f);
        for (int step = 0; step < 3; step++)
        {
            using var scope = device.BeginStep();
            adam.ZeroGrad();
            using (Tape tape = Tape.Start())
            {
                using Tensor grad = Load(fixture, $"adamw.grad{step}", device);
                tape.Backward(Ops.Sum(p * grad));
            }
            Assert.True(adam.Step(maxGradNorm: 1.5f));
            OpHarness.AssertMatches(p.ToArray(), Values(fixture, $"adamw.after{step}"), DType.F32, $"AdamW after step {step + 1} on {deviceName}");
        }
    }

    private static TensorEntry Entry(SafetensorsReader fixture, string name) =>
        fixture.Tensors.SingleOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"{FixturePath} has no tensor '{name}'");

    private static double[] Values(SafetensorsReader fixture, string name)
    {
        TensorEntry entry = Entry(fixture, name);
        Assert.Equal(StorageType.F32, entry.Type);
        return MemoryMarshal.Cast<byte, float>(entry.Bytes(0, (int)entry.ByteLength)).ToArray().Select(v => (double)v).ToArray();
    }

    private static Tensor Load(SafetensorsReader fixture, string name, Device device)
    {
        TensorEntry entry = Entry(fixture, name);
        var shape = new Shape(entry.Shape.Select(d => (int)d).ToArray());
        return Tensor.FromBytes(entry.Bytes(0, (int)entry.ByteLength), shape, DType.F32, device);
    }
}
