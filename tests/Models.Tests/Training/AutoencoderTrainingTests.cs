using System.Globalization;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Synthetic;
using Dsoup.Models.Training;

namespace Dsoup.Models.Tests.Training;

/// <summary>Training the tiny family's autoencoder from scratch, as the demo builds its base model.</summary>
public sealed class AutoencoderTrainingTests : IDisposable
{
    private readonly TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Fact]
    public void TheAutoencoderLearnsAndItsScaledLatentsHaveUnitStd()
    {
        string basePath = folder.File("base.safetensors");
        SyntheticCheckpoint.Write(basePath, new SyntheticOptions(ModelFamily.Tiny, Type: StorageType.F32, TrainableInit: true));
        IReadOnlyList<TrainingExample> examples = EmbeddedImages.Load(8);
        var options = new AutoencoderOptions { Steps = 40, BatchSize = 8, LearningRate = 3e-3f, Resolution = 32 };
        var load = new ModelLoadOptions { Device = Device.Cpu };
        TrainingResult result = new AutoencoderTrainer(options, load).Run(basePath, examples, folder.File("run"), _ => { });

        float[] losses = File.ReadLines(folder.File("run/loss.csv")).Skip(1).Select(l => float.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(40, losses.Length);
        Assert.True(losses[^5..].Average() < 0.5 * losses[..5].Average(), $"reconstruction loss {losses[..5].Average()} → {losses[^5..].Average()}");

        using StableDiffusionModel model = StableDiffusionModel.Load(result.ModelPath!, load with { WithVaeEncoder = true });
        double squares = 0;
        long count = 0;
        var logVariances = new HashSet<float>();
        foreach (TrainingExample example in examples)
        {
            using (model.Device.BeginStep())
            {
                using Tensor x = Tensor.FromArray(example.Load(32).Select(v => 2 * v - 1).ToArray(), new Shape(1, 3, 32, 32), model.DType, model.Device);
                var latent = model.Vae.Encode(x);
                squares += latent.Mean.Sum(m => Math.Pow(m * model.Vae.Config.ScalingFactor, 2));
                count += latent.Mean.Length;
                logVariances.UnionWith(latent.LogVariance);
            }
        }
        Assert.Equal(1.0, Math.Sqrt(squares / count), 3);
        Assert.Single(logVariances); // the fixed posterior: one log-variance everywhere
        // Only the VAE was trained: the UNet is the base's.
        using var trained = ModelCheckpoint.Open(result.ModelPath!);
        using var original = ModelCheckpoint.Open(basePath);
        Assert.Equal(original.Find("unet.conv_in.weight")!.ReadSingles(), trained.Find("unet.conv_in.weight")!.ReadSingles());
        Assert.NotEqual(original.Find("vae.decoder.conv_out.weight")!.ReadSingles(), trained.Find("vae.decoder.conv_out.weight")!.ReadSingles());
    }
}
