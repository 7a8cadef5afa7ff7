using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

public class MemoryTests
{
    [Fact]
    public void TensorsOfAFinishedStepCannotBeRead()
    {
        Tensor escaped;
        using (Device.Cpu.BeginStep())
        {
            escaped = Tensor.Ones(new Shape(4), device: Device.Cpu);
        }
        var error = Assert.Throws<ObjectDisposedException>(() => escaped.ToArray());
        Assert.Contains("step", error.Message);
    }

    [Fact]
    public void PersistedTensorsOutliveTheirStep()
    {
        Tensor kept;
        using (Device.Cpu.BeginStep())
        {
            using Tensor inStep = Tensor.Full(new Shape(3), 2.5f, device: Device.Cpu);
            kept = inStep.Persist();
        }
        Assert.Equal([2.5f, 2.5f, 2.5f], kept.ToArray());
        kept.Dispose();
    }

    public static TheoryData<string> Devices => new(OpHarness.Devices);

    /// <summary>Attention forward and backward hold activations of size tokens × channels, never the tokens² scores.</summary>
    [Theory]
    [MemberData(nameof(Devices))]
    public void AttentionHoldsNoScoreMatrix(string deviceName)
    {
        const int tokens = 1024, channels = 8;
        Device device = Device.Get(deviceName);
        using var step = device.BeginStep();
        var random = new System.Random(3);
        Tensor[] qkv = Enumerable.Range(0, 3)
            .Select(_ => Tensor.FromArray(Reference.ToFloats(Reference.RandomValues(random, tokens * channels, DType.F32)), new Shape(1, tokens, channels), device: device))
            .ToArray();
        foreach (Tensor t in qkv)
        {
            t.RequiresGrad = true;
        }
        using (Tape tape = Tape.Start())
        {
            Tensor result = Ops.Attention(qkv[0], qkv[1], qkv[2], heads: 1, causal: true);
            tape.Backward(Ops.Sum(result));
        }
        long scoreBytes = (long)tokens * tokens * sizeof(float);
        Assert.NotNull(qkv[0].Grad);
        Assert.True(step.PeakBytes < scoreBytes / 4, $"attention held {step.PeakBytes} bytes at peak; the score matrix alone is {scoreBytes}");
    }

    [Fact]
    public void PeakBytesAreThoseOfTheStepAlone()
    {
        using (Device.Cpu.BeginStep())
        {
            _ = Tensor.Zeros(new Shape(1024, 1024), device: Device.Cpu);
        }
        using var small = Device.Cpu.BeginStep();
        _ = Tensor.Zeros(new Shape(16), device: Device.Cpu);
        Assert.True(small.PeakBytes < 4096, $"a step holding 64 bytes reports a peak of {small.PeakBytes} bytes");
    }

    [Fact]
    public void SteadyStepsReuseTheArenaWithoutGrowing()
    {
        long reserved = 0;
        for (int i = 0; i < 5; i++)
        {
            using var step = Device.Cpu.BeginStep();
            for (int j = 0; j < 20; j++)
            {
                _ = Tensor.Zeros(new Shape(1024, 256), device: Device.Cpu);
            }
            if (i == 0)
            {
                reserved = step.Arena.ReservedBytes;
            }
            Assert.Equal(reserved, step.Arena.ReservedBytes);
            Assert.True(step.PeakBytes >= 20L * 1024 * 256 * 4);
        }
    }

    [Fact]
    public void AViewKeepsItsMemoryAliveAfterTheBaseIsDisposed()
    {
        var values = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        Tensor baseTensor = Tensor.FromArray(values, new Shape(4, 3), device: Device.Cpu);
        Tensor view = baseTensor.Slice(1, 2).Reshape(6);
        baseTensor.Dispose();
        Assert.Equal(values[3..9], view.ToArray());
        view.Dispose();
        Assert.Throws<ObjectDisposedException>(() => view.ToArray());
    }

    [Fact]
    public void DisposedTensorsCannotBeUsed()
    {
        Tensor t = Tensor.Zeros(new Shape(2), device: Device.Cpu);
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t + t);
    }
}
