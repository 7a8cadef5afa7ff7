using System.Text.Json;

namespace Dsoup.Models.Schedulers;

public enum PredictionType
{
    Epsilon,
    VPrediction,
}

public enum TimestepSpacing
{
    Leading,
    Trailing,
    Linspace,
}

/// <summary>
/// A diffusers scheduler_config.json's settings that decide the numbers. Unset values are Stable Diffusion's
/// (keys missing from a file keep them), except <c>timestep_spacing</c>: unset, each scheduler takes its own
/// default as in diffusers (DDIM and PNDM leading, Euler and DPM-Solver linspace).
/// </summary>
public sealed record SchedulerConfig
{
    public int TrainTimesteps { get; init; } = 1000;

    public double BetaStart { get; init; } = 0.00085;

    public double BetaEnd { get; init; } = 0.012;

    /// <summary>"scaled_linear" (SD) or "linear".</summary>
    public string BetaSchedule { get; init; } = "scaled_linear";

    public PredictionType Prediction { get; init; } = PredictionType.Epsilon;

    public TimestepSpacing? Spacing { get; init; }

    public int StepsOffset { get; init; } = 1;

    public bool SetAlphaToOne { get; init; }

    public bool ClipSample { get; init; }

    public bool KarrasSigmas { get; init; }

    /// <summary>The diffusers class named in the file (<c>_class_name</c>), which picks the sampler when none is asked for.</summary>
    public string? ClassName { get; init; }

    public static SchedulerConfig Load(string path)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        var config = new SchedulerConfig();
        try
        {
            return config with
            {
                TrainTimesteps = Int(root, "num_train_timesteps") ?? config.TrainTimesteps,
                BetaStart = Double(root, "beta_start") ?? config.BetaStart,
                BetaEnd = Double(root, "beta_end") ?? config.BetaEnd,
                BetaSchedule = String(root, "beta_schedule") ?? config.BetaSchedule,
                Prediction = String(root, "prediction_type") switch
                {
                    null or "epsilon" => PredictionType.Epsilon,
                    "v_prediction" => PredictionType.VPrediction,
                    string other => throw new InvalidDataException($"prediction_type '{other}' is not supported (epsilon or v_prediction)"),
                },
                Spacing = String(root, "timestep_spacing") switch
                {
                    null => null,
                    "leading" => TimestepSpacing.Leading,
                    "trailing" => TimestepSpacing.Trailing,
                    "linspace" => TimestepSpacing.Linspace,
                    string other => throw new InvalidDataException($"timestep_spacing '{other}' is not supported (leading, trailing or linspace)"),
                },
                StepsOffset = Int(root, "steps_offset") ?? config.StepsOffset,
                SetAlphaToOne = Bool(root, "set_alpha_to_one") ?? config.SetAlphaToOne,
                ClipSample = Bool(root, "clip_sample") ?? config.ClipSample,
                KarrasSigmas = Bool(root, "use_karras_sigmas") ?? config.KarrasSigmas,
                ClassName = String(root, "_class_name"),
            };
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static JsonElement? Value(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static int? Int(JsonElement root, string name) => Value(root, name)?.GetInt32();

    private static double? Double(JsonElement root, string name) => Value(root, name)?.GetDouble();

    private static bool? Bool(JsonElement root, string name) => Value(root, name)?.GetBoolean();

    private static string? String(JsonElement root, string name) => Value(root, name)?.GetString();
}
