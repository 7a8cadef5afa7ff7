using Dsoup.Engine.Autograd;
using Dsoup.Engine.Optim;
using Dsoup.Engine.Tests.Harness;

namespace Dsoup.Engine.Tests;

/// <summary>AdamW, clipping, loss scaling, schedules and EMA against float64 transcriptions of torch's and diffusers' formulas.</summary>
public class OptimizerTests
{
    /// <summary>torch.optim.AdamW's documented update, in f64, from already-clipped gradients.</summary>
    private static void ReferenceAdamW(double[] p, double[] m, double[] v, double[] g, int t,
        double lr, double b1, double b2, double eps, double wd)
    {
        for (int i = 0; i < p.Length; i++)
        {
            p[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.Pow(b1, t));
            double vHat = v[i] / (1 - Math.Pow(b2, t));
            p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }

    /// <summary>Sets each parameter's gradient to <paramref name="gradient"/> through a tape: loss = Σ p·gradient.</summary>
    private static void Backpropagate(Tensor parameter, float[] gradient)
    {
        using Tensor weights = Tensor.FromArray(gradient, parameter.Shape, parameter.DType, parameter.Device);
        using Tape tape = Tape.Start();
        tape.Backward(Ops.Sum(parameter * weights));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AdamWFollowsTorchsUpdateOverSeveralSteps(string deviceName)
    {
        Device device = Device.Get(deviceName);
        var random = new System.Random(5);
        double[] start = Reference.RandomValues(random, 37, DType.F32);
        double[][] grads = Enumerable.Range(0, 4).Select(_ => Reference.RandomValues(random, 37, DType.F32, 0.3)).ToArray();
        using Tensor p = Tensor.FromArray(Reference.ToFloats(start), new Shape(37), DType.F32, device).Persist();
        p.RequiresGrad = true;
        using var adam = new AdamW([p], learningRate: 0.05f, beta1: 0.8f, beta2: 0.95f, epsilon: 1e-3f, weightDecay: 0.1f);
        double[] expected = (double[])start.Clone(), m = new double[37], v = new double[37];
        for (int t = 1; t <= grads.Length; t++)
        {
            using var step = device.BeginStep();
            adam.ZeroGrad();
            Backpropagate(p, Reference.ToFloats(grads[t - 1]));
            Assert.True(adam.Step());
            ReferenceAdamW(expected, m, v, grads[t - 1], t, 0.05, 0.8, 0.95, 1e-3, 0.1);
        }
        Assert.Equal(4, adam.Steps);
        Reference.AssertClose(p.ToArray(), expected, 1e-5, 1e-6, "AdamW after 4 steps");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void ClippingScalesGradientsToTheGlobalNorm(string deviceName)
    {
        Device device = Device.Get(deviceName);
        float[] ga = [3f, 4f], gb = [12f];  // global norm 13
        using Tensor a = Tensor.FromArray([1f, 2f], new Shape(2), DType.F32, device).Persist();
        using Tensor b = Tensor.FromArray([-1f], new Shape(1), DType.F32, device).Persist();
        a.RequiresGrad = b.RequiresGrad = true;
        // A large ε makes the update depend on the gradient's size, so clipping shows.
        using var adam = new AdamW([a, b], learningRate: 0.5f, epsilon: 1f, weightDecay: 0f);
        using (device.BeginStep())
        {
            Backpropagate(a, ga);
            Backpropagate(b, gb);
            Assert.True(adam.Step(maxGradNorm: 2f));
        }
        double clip = 2 / (13 + 1e-6);
        double[] pa = [1, 2], pb = [-1];
        ReferenceAdamW(pa, new double[2], new double[2], ga.Select(g => g * clip).ToArray(), 1, 0.5, 0.9, 0.999, 1, 0);
        ReferenceAdamW(pb, new double[1], new double[1], gb.Select(g => g * clip).ToArray(), 1, 0.5, 0.9, 0.999, 1, 0);
        Reference.AssertClose(a.ToArray(), pa, 1e-5, 1e-7, "clipped a");
        Reference.AssertClose(b.ToArray(), pb, 1e-5, 1e-7, "clipped b");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AnOverflowedStepIsSkippedAndTheLossScaleBacksOff(string deviceName)
    {
        Device device = Device.Get(deviceName);
        using Tensor p = Tensor.FromArray([0.5f, -0.25f, 2f], new Shape(3), DType.F16, device).Persist();
        p.RequiresGrad = true;
        using var adam = new AdamW([p], learningRate: 0.1f);
        var scaler = new DynamicLossScale(initialScale: 1024f, growthInterval: 2);
        float[] before = p.ToArray();
        using (device.BeginStep())
        {
            Backpropagate(p, [1f, float.PositiveInfinity, 1f]);
            bool applied = adam.Step(lossScale: scaler.Scale);
            scaler.Update(applied);
            Assert.False(applied);
        }
        Assert.Equal(before, p.ToArray());
        Assert.Equal(0, adam.Steps);
        Assert.Equal(512f, scaler.Scale);

        adam.ZeroGrad();
        using (device.BeginStep())
        {
            // Gradients of the scaled loss: 512 × the true gradient 1.
            Backpropagate(p, [512f, 512f, 512f]);
            Assert.True(adam.Step(lossScale: scaler.Scale));
        }
        Assert.Equal(1, adam.Steps);
        double[] expected = before.Select(v => (double)v).ToArray();
        ReferenceAdamW(expected, new double[3], new double[3], [1, 1, 1], 1, 0.1, 0.9, 0.999, 1e-8, 0.01);
        Reference.AssertClose(p.ToArray(), expected.Select(v => Reference.Round(v, DType.F16)).ToArray(), 0, 0, "step after the skipped one");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void WithoutALossScaleAnOverflowIsSkippedOnTheDeviceAndDoesNotCount(string deviceName)
    {
        Device device = Device.Get(deviceName);
        using Tensor p = Tensor.FromArray([0.5f, -0.25f], new Shape(2), DType.F32, device).Persist();
        p.RequiresGrad = true;
        using var adam = new AdamW([p], learningRate: 0.1f, beta1: 0.5f, beta2: 0.6f);
        float[] before = p.ToArray();
        using (device.BeginStep())
        {
            Backpropagate(p, [float.NaN, 1f]);
            adam.Step();
        }
        Assert.Equal(before, p.ToArray());
        Assert.Equal(0, adam.Steps);

        adam.ZeroGrad();
        using (device.BeginStep())
        {
            Backpropagate(p, [2f, -1f]);
            adam.Step();
        }
        Assert.Equal(1, adam.Steps);
        // The first applied update uses t = 1 (with t = 2 its bias corrections would differ by a factor of 1.5 to 1.6).
        double[] expected = before.Select(v => (double)v).ToArray();
        ReferenceAdamW(expected, new double[2], new double[2], [2, -1], 1, 0.1, 0.5, 0.6, 1e-8, 0.01);
        Reference.AssertClose(p.ToArray(), expected, 1e-6, 1e-7, "first applied update");
    }

    [Fact]
    public void LossScaleGrowsAfterARunOfGoodSteps()
    {
        var scaler = new DynamicLossScale(initialScale: 8f, growthFactor: 2f, backoffFactor: 0.5f, growthInterval: 3);
        scaler.Update(true);
        scaler.Update(true);
        Assert.Equal(8f, scaler.Scale);
        scaler.Update(true);
        Assert.Equal(16f, scaler.Scale);
        scaler.Update(true);
        scaler.Update(false);
        scaler.Update(true);
        scaler.Update(true);
        Assert.Equal(8f, scaler.Scale);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void HalfPrecisionParametersKeepF32MasterWeights(string deviceName)
    {
        // 1 − 1e-4 rounds back to 1 in f16: updated in f16, the parameter would never move.
        Device device = Device.Get(deviceName);
        using Tensor p = Tensor.FromArray([1f], new Shape(1), DType.F16, device).Persist();
        p.RequiresGrad = true;
        using var adam = new AdamW([p], learningRate: 1e-4f, weightDecay: 0f);
        for (int i = 0; i < 10; i++)
        {
            using var step = device.BeginStep();
            adam.ZeroGrad();
            Backpropagate(p, [1f]);
            adam.Step();
        }
        Assert.Equal(Reference.Round(1 - 10 * 1e-4, DType.F16), p.ToArray()[0], 1e-7);
    }

    [Theory]
    [InlineData(LearningRateSchedule.Constant, 3, 1.0)]
    [InlineData(LearningRateSchedule.ConstantWithWarmup, 5, 0.5)]
    [InlineData(LearningRateSchedule.ConstantWithWarmup, 50, 1.0)]
    [InlineData(LearningRateSchedule.Linear, 5, 0.5)]
    [InlineData(LearningRateSchedule.Linear, 60, 0.5)]
    [InlineData(LearningRateSchedule.Linear, 110, 0.0)]
    [InlineData(LearningRateSchedule.Cosine, 60, 0.5)]
    [InlineData(LearningRateSchedule.Cosine, 35, 0.85355339059327373)]
    [InlineData(LearningRateSchedule.Cosine, 10, 1.0)]
    public void SchedulesMatchDiffusersAtWarmup10Of110(LearningRateSchedule schedule, int step, double expected) =>
        Assert.Equal(expected, LearningRateSchedules.Factor(schedule, step, warmupSteps: 10, totalSteps: 110), 12);

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void EmaFollowsItsRecurrence(string deviceName)
    {
        Device device = Device.Get(deviceName);
        using Tensor p = Tensor.FromArray([2f, -4f], new Shape(2), DType.BF16, device).Persist();
        using var ema = new ExponentialMovingAverage([p], decay: 0.75f);
        device.Backend.Fill(DType.BF16, p.View, 2, 6f);
        ema.Update();
        device.Backend.Fill(DType.BF16, p.View, 2, -2f);
        ema.Update();
        double[] expected = [2, -4];
        foreach (double value in new[] { 6.0, -2.0 })
        {
            expected = expected.Select(s => 0.75 * s + 0.25 * value).ToArray();
        }
        Reference.AssertClose(ema.Shadows[0].ToArray(), expected, 1e-6, 0, "EMA shadow");
    }
}
