using System.Text.Json;
using Dsoup.Engine.Optim;
using Dsoup.Kernels;

namespace Dsoup.Models.Training;

/// <summary>
/// A fine-tuning run's settings, with diffusers' train_text_to_image.py defaults where it has them. Everything
/// but the step count and the checkpoint and sample intervals decides the numbers, so a resume refuses a run
/// whose <see cref="Fingerprint"/> differs.
/// </summary>
public sealed record TrainingOptions
{
    public int Steps { get; init; } = 1000;

    public int BatchSize { get; init; } = 1;

    public int GradientAccumulation { get; init; } = 1;

    public float LearningRate { get; init; } = 1e-4f;

    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;

    public int WarmupSteps { get; init; }

    /// <summary>Global gradient-norm clipping (0: none).</summary>
    public float MaxGradNorm { get; init; } = 1f;

    public float WeightDecay { get; init; } = 1e-2f;

    /// <summary>Square training images of this side (resized on the shorter side, centre-cropped).</summary>
    public int Resolution { get; init; } = 512;

    public ulong Seed { get; init; }

    /// <summary>Min-SNR-γ loss weighting (Hang et al., 2023); 0 for none, 5 recommended.</summary>
    public float SnrGamma { get; init; }

    /// <summary>Offset noise: N(0, 1)·offset added per sample and channel to the noise.</summary>
    public float NoiseOffset { get; init; }

    /// <summary>The share of captions replaced by the empty one, so the model learns the unconditional half of guidance.</summary>
    public float CaptionDropout { get; init; }

    public bool RandomFlip { get; init; }

    public bool Ema { get; init; }

    public float EmaDecay { get; init; } = 0.9999f;

    public bool GradientCheckpointing { get; init; }

    /// <summary>Weights and activations: f32, bf16, or f16 with dynamic loss scaling (f32 master weights either way).</summary>
    public DType Precision { get; init; } = DType.F32;

    /// <summary>Train LoRA adapters of this rank on the UNet's attention projections instead of the full weights (0: full fine-tune).</summary>
    public int LoraRank { get; init; }

    /// <summary>The adapters' α (their scale is α/rank); the rank when unset.</summary>
    public float? LoraAlpha { get; init; }

    /// <summary>Write a resumable checkpoint every this many steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Sample the prompts every this many steps (0: never).</summary>
    public int SampleEvery { get; init; }

    public IReadOnlyList<string> SamplePrompts { get; init; } = [];

    /// <summary>The settings that decide the numbers, as text two runs can compare.</summary>
    public string Fingerprint() => JsonSerializer.Serialize(new
    {
        BatchSize, GradientAccumulation, LearningRate, Schedule = Schedule.ToString(), WarmupSteps, MaxGradNorm, WeightDecay, Resolution, Seed,
        SnrGamma, NoiseOffset, CaptionDropout, RandomFlip, Ema, EmaDecay, GradientCheckpointing, Precision = Precision.ToString(),
        LoraRank, LoraAlpha,
    });

    public void Validate()
    {
        if (Steps < 1 || BatchSize < 1 || GradientAccumulation < 1)
        {
            throw new ArgumentException($"--steps, --batch and --accumulate must be at least 1; got {Steps}, {BatchSize}, {GradientAccumulation}");
        }
        if (Resolution < 8 || Resolution % 8 != 0)
        {
            throw new ArgumentException($"--resolution must be a positive multiple of 8; got {Resolution}");
        }
        if (LearningRate <= 0 || CaptionDropout is < 0 or > 1 || SnrGamma < 0 || NoiseOffset < 0)
        {
            throw new ArgumentException("--lr must be positive; --caption-dropout in [0, 1]; --snr-gamma and --noise-offset non-negative");
        }
        if (LoraRank < 0 || LoraAlpha is <= 0)
        {
            throw new ArgumentException($"--rank must be positive with --lora, and --alpha positive; got {LoraRank} and {LoraAlpha}");
        }
        if (CheckpointEvery < 1)
        {
            throw new ArgumentException($"--checkpoint-every must be at least 1; got {CheckpointEvery}");
        }
    }
}
