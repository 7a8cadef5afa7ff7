using Dsoup.Engine.Tensors;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Schedulers;

namespace Dsoup.Models.Training;

/// <summary>
/// The training objective measured, not optimised: each example's mean denoising loss over a fixed set of draws
/// (latent sample, timestep, noise) from a seed, so two models — or one model before and after training, or
/// candidate soups — are compared on exactly the same problems (paired differences are then free of sampling
/// noise). The images and captions are encoded once, with the model's VAE and text encoder; <see cref="Evaluate"/>
/// scores whatever weights the model's UNet holds at the time.
/// </summary>
public sealed class DenoisingLoss
{
    private const int SamplesPerForward = 16;

    private readonly StableDiffusionModel model;
    private readonly TrainingData data;
    private readonly DenoisingProblem[] problems;
    private readonly int draws;

    public DenoisingLoss(StableDiffusionModel model, IReadOnlyList<TrainingExample> examples, int resolution, ulong seed, int draws, Action<string>? warn = null)
    {
        if (draws < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(draws), $"draws per example must be at least 1; got {draws}");
        }
        this.model = model;
        this.draws = draws;
        data = new TrainingData(model, examples, resolution, flips: false, warn ?? (_ => { }));
        var schedule = new NoiseSchedule(model.Scheduler);
        var random = new StepDraws(seed, (int)data.LatentShape.Count, data.LatentShape[1]);
        float scaling = model.Vae.Config.ScalingFactor;
        problems = new DenoisingProblem[data.Count * draws];
        for (int sample = 0; sample < problems.Length; sample++)
        {
            problems[sample] = DenoisingProblem.Draw(data.Latent(sample / draws, flipped: false), random, sample, schedule, model.Scheduler, scaling, noiseOffset: 0);
        }
    }

    /// <summary>The examples scored (those whose images could be read), in the order of <see cref="Evaluate"/>'s losses.</summary>
    public IReadOnlyList<TrainingExample> Examples => data.Examples;

    /// <summary>Images that could not be read and were left out.</summary>
    public int Skipped => data.Skipped;

    /// <summary>Per-example loss (ε or v MSE, as the model's scheduler predicts), averaged over the draws, with the UNet's current weights.</summary>
    public float[] Evaluate()
    {
        int latentCount = (int)data.LatentShape.Count, tokens = Text.ClipTokenizer.ContextLength;
        var sums = new double[data.Count];
        for (int first = 0; first < problems.Length; first += SamplesPerForward)
        {
            int batch = Math.Min(SamplesPerForward, problems.Length - first);
            var noisy = new float[batch * latentCount];
            var timesteps = new float[batch];
            var context = new List<float>();
            for (int j = 0; j < batch; j++)
            {
                problems[first + j].Noisy.CopyTo(noisy, j * latentCount);
                timesteps[j] = problems[first + j].Timestep;
                context.AddRange(data.States(data.Caption((first + j) / draws)));
            }
            float[] prediction;
            using (model.Device.BeginStep())
            {
                using Tensor x = Tensor.FromArray(noisy, new Shape([batch, .. data.LatentShape.Dims[1..]]), model.DType, model.Device);
                using Tensor c = Tensor.FromArray(context.ToArray(), new Shape(batch, tokens, context.Count / batch / tokens), model.DType, model.Device);
                prediction = model.Unet.Forward(x, timesteps, c).ToArray();
            }
            for (int j = 0; j < batch; j++)
            {
                float[] target = problems[first + j].Target;
                double squares = 0;
                for (int i = 0; i < latentCount; i++)
                {
                    double e = prediction[j * latentCount + i] - target[i];
                    squares += e * e;
                }
                sums[(first + j) / draws] += squares / latentCount;
            }
        }
        return sums.Select(s => (float)(s / draws)).ToArray();
    }

    /// <summary>Per-example losses of <paramref name="model"/> on <paramref name="examples"/> (encodes, then scores once).</summary>
    public static float[] Evaluate(StableDiffusionModel model, IReadOnlyList<TrainingExample> examples, int resolution, ulong seed, int draws, Action<string>? warn = null) =>
        new DenoisingLoss(model, examples, resolution, seed, draws, warn).Evaluate();
}
