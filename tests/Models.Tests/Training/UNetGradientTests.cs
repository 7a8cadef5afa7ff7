using Dsoup.Engine;
using Dsoup.Engine.Autograd;
using Dsoup.Models.Loading;
using Dsoup.Models.Modules;
using Dsoup.Models.Tests.Models;
using Dsoup.Models.Unet;

namespace Dsoup.Models.Tests.Training;

/// <summary>One training step of a small UNet (the sd1-tiny fixture) differentiated end to end.</summary>
public class UNetGradientTests
{
    private sealed class Step : IDisposable
    {
        private readonly ModelFixture fixture = new("sd1-tiny");

        public Step()
        {
            Weights = new Weights(fixture.Checkpoint, "unet", Device.Cpu, DType.F32);
            Unet = new UNet2DConditionModel(Weights, ComponentConfigs.ReadUNet(fixture.Config("unet")));
            Sample = fixture.Tensor("unet.sample", Device.Cpu).Slice(0, 1).Persist();
            Context = fixture.Tensor("unet.context", Device.Cpu).Slice(0, 1).Persist();
            Target = Tensor.RandN(Sample.Shape, 5).Persist();
        }

        public Weights Weights { get; }

        public UNet2DConditionModel Unet { get; }

        public Tensor Sample { get; }

        public Tensor Context { get; }

        public Tensor Target { get; }

        /// <summary>The training loss MSE(UNet(x, 500, ctx), target).</summary>
        public float Loss()
        {
            using var scope = Device.Cpu.BeginStep();
            return Ops.MseLoss(Unet.Forward(Sample, [500f], Context), Target).Item();
        }

        /// <summary>Gradients of the loss for every UNet parameter, by name.</summary>
        public Dictionary<string, float[]> Gradients()
        {
            foreach (Tensor p in Weights.Loaded.Values)
            {
                p.RequiresGrad = true;
                p.ZeroGrad();
            }
            using (var scope = Device.Cpu.BeginStep())
            using (Tape tape = Tape.Start())
            {
                tape.Backward(Ops.MseLoss(Unet.Forward(Sample, [500f], Context), Target));
            }
            return Weights.Loaded.ToDictionary(p => p.Key, p => p.Value.Grad!.ToArray());
        }

        public void Dispose()
        {
            Weights.Release();
            fixture.Dispose();
        }
    }

    /// <summary>The tape's gradient against central differences of the loss, at the largest-gradient element of layers throughout the network.</summary>
    [Theory]
    [InlineData("unet.conv_in.weight")]
    [InlineData("unet.time_embedding.linear_1.weight")]
    [InlineData("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight")]
    [InlineData("unet.down_blocks.0.attentions.0.norm.bias")]
    [InlineData("unet.mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight")]
    [InlineData("unet.up_blocks.1.resnets.2.conv_shortcut.weight")]
    [InlineData("unet.conv_out.bias")]
    public void TrainingStepGradientsMatchFiniteDifferences(string name)
    {
        using var step = new Step();
        float[] gradient = step.Gradients()[name];
        int element = Enumerable.Range(0, gradient.Length).MaxBy(i => Math.Abs(gradient[i]));
        Tensor parameter = step.Weights.Loaded[name];
        float[] values = parameter.ToArray();
        float original = values[element];
        const float h = 1e-2f;
        float Perturbed(float v)
        {
            values[element] = v;
            Dsoup.Models.Training.RunCheckpoint.Restore(parameter, values);
            return step.Loss();
        }
        double numeric = ((double)Perturbed(original + h) - Perturbed(original - h)) / (2 * h);
        Perturbed(original);
        Assert.True(Math.Abs(numeric - gradient[element]) <= 0.03 * Math.Abs(gradient[element]) + 2e-5,
            $"{name}[{element}]: tape {gradient[element]}, finite differences {numeric}");
    }

    /// <summary>
    /// Checkpointed segments recompute the same values; only the order in which a tensor's gradient contributions
    /// are added changes where a block's input is also used outside it (the skip connections), so gradients
    /// agree to f32 rounding (the toy network of the op tests, with no such reuse, agrees bit for bit).
    /// </summary>
    [Fact]
    public void GradientCheckpointingGivesTheSameGradients()
    {
        using var step = new Step();
        Dictionary<string, float[]> plain = step.Gradients();
        step.Unet.GradientCheckpointing = true;
        Dictionary<string, float[]> checkpointed = step.Gradients();
        Assert.All(plain, p =>
        {
            double scale = p.Value.Max(v => Math.Abs(v));
            double worst = p.Value.Zip(checkpointed[p.Key]).Max(z => Math.Abs(z.First - z.Second));
            Assert.True(worst <= 1e-5 * scale, $"{p.Key}: checkpointed gradients differ by {worst} at scale {scale}");
        });
    }
}
