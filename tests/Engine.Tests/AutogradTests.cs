using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

public class AutogradTests
{
    private static float[] Values(int count, int seed) => Reference.ToFloats(Reference.RandomValues(new System.Random(seed), count, DType.F32));

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void GradientsAccumulateAcrossBackwardCallsUntilZeroed(string device)
    {
        Device d = Device.Get(device);
        using Tensor w = Tensor.FromArray(Values(6, 1), new Shape(2, 3), device: d);
        w.RequiresGrad = true;
        float[] once = Step(w);
        float[] twice = Step(w);
        for (int i = 0; i < once.Length; i++)
        {
            Assert.Equal(2 * once[i], twice[i], 5);
        }
        w.ZeroGrad();
        Assert.Null(w.Grad);
        Assert.Equal(once, Step(w));

        static float[] Step(Tensor w)
        {
            using var step = w.Device.BeginStep();
            using Tape tape = Tape.Start();
            tape.Backward(Ops.Sum(w * w));
            return w.Grad!.ToArray();
        }
    }

    [Fact]
    public void CompositeExpressionMatchesFiniteDifferences()
    {
        // loss = mean((A·B + C) ⊙ D), checked through the harness as one op.
        var op = new OpCase("Composite", [new(3, 4), new(4, 5), new(3, 5), new(3, 5)],
            t => Ops.Mean((Ops.MatMul(t[0], t[1]) + t[2]) * t[3]),
            x =>
            {
                double[] ab = Reference.MatMul(x[0], x[1], 3, 5, 4, false, false);
                return [ab.Select((v, i) => (v + x[2][i]) * x[3][i]).Average()];
            });
        foreach (string device in OpHarness.Devices)
        {
            OpHarness.CheckBackward(op, device, DType.F32);
        }
    }

    [Fact]
    public void ATapeRunsBackwardsOnce()
    {
        using var step = Device.Cpu.BeginStep();
        Tensor x = Tensor.Ones(new Shape(2), device: Device.Cpu);
        x.RequiresGrad = true;
        using Tape tape = Tape.Start();
        Tensor loss = Ops.Sum(x * x);
        tape.Backward(loss);
        var error = Assert.Throws<InvalidOperationException>(() => tape.Backward(loss));
        Assert.Contains("already been run backwards", error.Message);
        x.Dispose();
    }

    [Fact]
    public void BackwardOfANonScalarNeedsASeed()
    {
        using var step = Device.Cpu.BeginStep();
        Tensor x = Tensor.Ones(new Shape(2), device: Device.Cpu);
        x.RequiresGrad = true;
        using Tape tape = Tape.Start();
        var error = Assert.Throws<ArgumentException>(() => tape.Backward(x * x));
        Assert.Contains("one-element loss", error.Message);
        x.Dispose();
    }

    [Fact]
    public void OpsOnTensorsWithoutGradientsAreNotRecorded()
    {
        using var step = Device.Cpu.BeginStep();
        using Tape tape = Tape.Start();
        Tensor a = Tensor.Ones(new Shape(3), device: Device.Cpu);
        _ = a + a;
        Assert.Equal(0, tape.NodeCount);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void CheckpointedSegmentGivesTheSameGradientsAndRunsTwice(string device)
    {
        Device d = Device.Get(device);
        using Tensor w1 = Tensor.FromArray(Values(20, 2), new Shape(4, 5), device: d);
        using Tensor w2 = Tensor.FromArray(Values(15, 3), new Shape(5, 3), device: d);
        w1.RequiresGrad = true;
        w2.RequiresGrad = true;
        float[] input = Values(8, 4);

        (float[] g1, float[] g2, float loss) Run(bool checkpoint, ref int calls)
        {
            using var step = d.BeginStep();
            Tensor x = Tensor.FromArray(input, new Shape(2, 4), device: d);
            x.RequiresGrad = true;
            int count = 0;
            Tensor[] Segment(Tensor[] t)
            {
                count++;
                Tensor h = Ops.MatMul(t[0], w1);
                return [Ops.MatMul(h * h, w2)];
            }
            float lossValue;
            using (Tape tape = Tape.Start())
            {
                Tensor y = checkpoint ? GradientCheckpoint.Run(Segment, x)[0] : Segment([x])[0];
                Tensor loss = Ops.Mean(y * y);
                lossValue = loss.Item();
                tape.Backward(loss);
            }
            calls = count;
            var result = (w1.Grad!.ToArray(), w2.Grad!.ToArray(), lossValue);
            w1.ZeroGrad();
            w2.ZeroGrad();
            x.Dispose();
            return result;
        }

        int plainCalls = 0, checkpointCalls = 0;
        var plain = Run(false, ref plainCalls);
        var checkpointed = Run(true, ref checkpointCalls);
        Assert.Equal(1, plainCalls);
        Assert.Equal(2, checkpointCalls);
        Assert.Equal(plain.loss, checkpointed.loss);
        Assert.Equal(plain.g1, checkpointed.g1);
        Assert.Equal(plain.g2, checkpointed.g2);
    }

    [Fact]
    public void CheckpointReturnsTheSegmentsActivationsToTheArena()
    {
        Device d = Device.Cpu;
        using Tensor w = Tensor.FromArray(Values(64 * 64, 5), new Shape(64, 64), device: d);
        w.RequiresGrad = true;

        long HeldAfterForward(bool checkpoint)
        {
            using var step = d.BeginStep();
            using Tape tape = Tape.Start();
            Tensor x = Tensor.Ones(new Shape(64, 64), device: d);
            Tensor[] Segment(Tensor[] t)
            {
                Tensor h = t[0];
                for (int i = 0; i < 8; i++)
                {
                    h = Ops.MatMul(h, w);
                }
                return [h];
            }
            _ = checkpoint ? GradientCheckpoint.Run(Segment, x) : Segment([x]);
            return step.Arena.BytesInUse;
        }

        long plain = HeldAfterForward(false);
        long checkpointed = HeldAfterForward(true);
        Assert.True(checkpointed * 4 < plain, $"checkpointed forward holds {checkpointed} arena bytes, plain {plain}");
    }

    [Fact]
    public void CheckpointNeedsAStep()
    {
        Tensor x = Tensor.Ones(new Shape(2), device: Device.Cpu);
        x.RequiresGrad = true;
        using Tape tape = Tape.Start();
        var error = Assert.Throws<InvalidOperationException>(() => GradientCheckpoint.Run(t => [t[0] * t[0]], x));
        Assert.Contains("BeginStep", error.Message);
        x.Dispose();
    }
}
