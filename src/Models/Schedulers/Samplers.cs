namespace Dsoup.Models.Schedulers;

/// <summary>The samplers by the names <c>--sampler</c> takes (stable-diffusion.cpp's), or by a diffusers scheduler class.</summary>
public static class Samplers
{
    public static readonly IReadOnlyList<string> Names = ["ddim", "euler", "euler_a", "dpm++2m", "pndm"];

    public static IScheduler Create(string name, SchedulerConfig config) => name.Trim().ToLowerInvariant() switch
    {
        "ddim" => new DdimScheduler(config),
        "euler" => new EulerScheduler(config, ancestral: false),
        "euler_a" => new EulerScheduler(config, ancestral: true),
        "dpm++2m" => new DpmSolverScheduler(config),
        "pndm" or "plms" => new PndmScheduler(config),
        _ => throw new ArgumentException($"unknown sampler '{name}': expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>The sampler a diffusers scheduler_config.json names in <c>_class_name</c>.</summary>
    public static string ForClass(string className) => className switch
    {
        "DDIMScheduler" => "ddim",
        "EulerDiscreteScheduler" => "euler",
        "EulerAncestralDiscreteScheduler" => "euler_a",
        "DPMSolverMultistepScheduler" => "dpm++2m",
        "PNDMScheduler" => "pndm",
        _ => throw new NotSupportedException($"scheduler class '{className}' is not supported; pass --sampler {string.Join("|", Names)}"),
    };
}
