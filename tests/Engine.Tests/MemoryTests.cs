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
