using System.Globalization;
using Dsoup.Engine.Random;

namespace Dsoup.Models.Pipelines;

/// <summary>The generation parameters in the text format A1111 writes into PNGs (and ComfyUI, InvokeAI and civitai read).</summary>
public static class GenerationParameters
{
    /// <param name="index">The image's place in its batch (all of a batch come from one generator, so one seed).</param>
    public static string Format(GenerationSettings s, string sampler, string modelName, int index)
    {
        var text = new System.Text.StringBuilder(s.Prompt);
        if (s.NegativePrompt.Length > 0)
        {
            text.Append("\nNegative prompt: ").Append(s.NegativePrompt);
        }
        var fields = new List<string>
        {
            $"Steps: {s.Steps}",
            $"Sampler: {SamplerName(sampler)}",
        };
        if (s.Karras)
        {
            fields.Add("Schedule type: Karras");
        }
        fields.Add(string.Create(CultureInfo.InvariantCulture, $"CFG scale: {s.CfgScale}"));
        fields.Add($"Seed: {s.Seed}");
        fields.Add($"Size: {s.Width}x{s.Height}");
        fields.Add($"Model: {modelName}");
        if (s.Batch > 1)
        {
            fields.Add($"Batch size: {s.Batch}, Batch pos: {index}");
        }
        if (s.InitImage is not null)
        {
            fields.Add(string.Create(CultureInfo.InvariantCulture, $"Denoising strength: {s.Strength}"));
        }
        if (s.Rng == NoiseRng.TorchCpu)
        {
            fields.Add("RNG: CPU");
        }
        fields.Add($"Version: {EngineVersion.Text}");
        return text.Append('\n').Append(string.Join(", ", fields)).ToString();
    }

    /// <summary>A1111's names for the samplers.</summary>
    private static string SamplerName(string sampler) => sampler switch
    {
        "euler_a" => "Euler a",
        "euler" => "Euler",
        "ddim" => "DDIM",
        "dpm++2m" => "DPM++ 2M",
        "pndm" => "PLMS",
        _ => sampler,
    };
}
