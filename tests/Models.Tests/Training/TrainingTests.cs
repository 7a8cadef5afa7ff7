using Dsoup.Models.Data;
using Dsoup.Models.Pipelines;
using Dsoup.Models.Synthetic;
using Dsoup.Models.Training;

namespace Dsoup.Models.Tests.Training;

/// <summary>Fine-tuning end to end on the tiny family (SD 1.x's structure at toy width) and the embedded images.</summary>
public class TrainingTests : IDisposable
{
    private static readonly string? ClipFolder = SharedData.Find("clip");
    private readonly string folder = Directory.CreateTempSubdirectory("dsoup-train-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string Base()
    {
        Skip.If(ClipFolder is null, "../shared/clip (CLIP's vocabulary) is not beside this checkout; training tokenizes captions");
        string path = Path.Combine(folder, "base.safetensors");
        SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Tiny, Type: StorageType.F32, TrainableInit: true));
        return path;
    }

    private ModelLoadOptions Load => new() { Device = Device.Cpu, TokenizerFolder = ClipFolder };

    private float MeanLoss(string model, IReadOnlyList<TrainingExample> examples)
    {
        using StableDiffusionModel sd = StableDiffusionModel.Load(model, Load);
        return DenoisingLoss.Evaluate(sd, examples, 64, seed: 99, draws: 4).Average();
    }

    [SkippableFact]
    public void OverfittingEightImagesDrivesTheLossDownTenfold()
    {
        string basePath = Base();
        IReadOnlyList<TrainingExample> examples = EmbeddedImages.Load(8);
        float before = MeanLoss(basePath, examples);
        var options = new TrainingOptions { Steps = 200, BatchSize = 8, LearningRate = 1e-3f, Resolution = 64, CheckpointEvery = 1000 };
        TrainingResult result = new Trainer(options, Load, _ => { }).Run(basePath, examples, Path.Combine(folder, "run"), resume: false);
        float after = MeanLoss(result.ModelPath!, examples);
        Assert.True(after * 10 <= before, $"the held-fixed denoising loss went from {before} to {after}, less than 10× down");
        Assert.Equal(201, File.ReadAllLines(Path.Combine(folder, "run", "loss.csv")).Length);
    }
}
