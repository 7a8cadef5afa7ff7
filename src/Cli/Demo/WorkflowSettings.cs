namespace Dsoup.Cli.Demo;

/// <summary>The demo workflow's data and budgets: sized so the embedded run takes minutes on two CPU cores.</summary>
internal sealed record WorkflowSettings
{
    public required string Data { get; init; }

    public required string HeldOut { get; init; }

    public required int Shards { get; init; }

    public int Resolution { get; init; } = 64;

    /// <summary>The autoencoder trains on smaller crops (it is convolutional, so it serves the full resolution).</summary>
    public int VaeResolution { get; init; } = 32;

    public int VaeSteps { get; init; } = 300;

    public int BaseSteps { get; init; } = 400;

    /// <summary>Steps per specialist; the paragon gets this times the shard count.</summary>
    public int SpecialistSteps { get; init; } = 100;

    public int Batch { get; init; } = 8;

    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Training images per shard (an even stride; 0: all).</summary>
    public int ExamplesPerShard { get; init; }

    /// <summary>Held-out examples every model is scored and sampled on.</summary>
    public int EvalExamples { get; init; } = 48;

    public int Draws { get; init; } = 2;

    /// <summary>Images per shape the style-mixing test asks each model for.</summary>
    public int StyleImagesPerShape { get; init; } = 4;

    /// <summary>Held-out examples the greedy search scores candidates on.</summary>
    public int GreedyExamples { get; init; } = 48;

    public static WorkflowSettings For(string data, bool quick)
    {
        WorkflowSettings settings = data switch
        {
            "embedded" => new WorkflowSettings { Data = "embedded", HeldOut = "embedded:test", Shards = 4 },
            "fashion-mnist" => new WorkflowSettings { Data = "fashion-mnist", HeldOut = "fashion-mnist:test", Shards = 5, ExamplesPerShard = 256, EvalExamples = 100 },
            _ => throw new ArgumentException($"--data {data}: the demo runs on embedded or fashion-mnist"),
        };
        return quick
            ? settings with { VaeSteps = 2, BaseSteps = 2, SpecialistSteps = 1, Batch = 2, EvalExamples = settings.Shards * 2, GreedyExamples = 4, Draws = 1, ExamplesPerShard = 8, StyleImagesPerShape = 1 }
            : settings;
    }
}
