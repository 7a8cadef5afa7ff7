using Dsoup.Engine;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Schedulers;
using Dsoup.Models.Vae;

namespace Dsoup.Models.Training;

/// <summary>
/// The training objective measured, not optimised: each example's mean denoising loss over a fixed set of draws
/// (latent sample, timestep, noise) from a seed, so two models — or one model before and after training — are
/// compared on exactly the same problems (paired differences are then free of sampling noise).
/// </summary>
public static class DenoisingLoss
{
    /// <summary>Per-example loss (ε or v MSE, as the model's scheduler predicts) averaged over <paramref name="draws"/> problems each.</summary>
    public static float[] Evaluate(StableDiffusionModel model, IReadOnlyList<TrainingExample> examples, int resolution, ulong seed, int draws, Action<string>? warn = null)
    {
        var data = new TrainingData(model, examples, resolution, flips: false, warn ?? (_ => { }));
        var schedule = new NoiseSchedule(model.Scheduler);
        int latentCount = (int)data.LatentShape.Count;
        var random = new StepDraws(seed, latentCount, data.LatentShape[1]);
        float scaling = model.Vae.Config.ScalingFactor;
        var losses = new float[data.Count];
        for (int index = 0; index < data.Count; index++)
        {
            double sum = 0;
            for (int d = 0; d < draws; d++)
            {
                long sample = (long)index * draws + d;
                var problem = DenoisingProblem.Draw(data.Latent(index, flipped: false), random, sample, schedule, model.Scheduler, scaling, noiseOffset: 0);
                using var scope = model.Device.BeginStep();
                using Tensor x = Tensor.FromArray(problem.Noisy, data.LatentShape, model.DType, model.Device);
                using Tensor y = Tensor.FromArray(problem.Target, data.LatentShape, model.DType, model.Device);
                float[] states = data.States(data.Caption(index));
                using Tensor c = Tensor.FromArray(states, new Shape(1, Text.ClipTokenizer.ContextLength, states.Length / Text.ClipTokenizer.ContextLength), model.DType, model.Device);
                sum += Ops.MseLoss(model.Unet.Forward(x, [problem.Timestep], c), y).Item();
            }
            losses[index] = (float)(sum / draws);
        }
        return losses;
    }
}
