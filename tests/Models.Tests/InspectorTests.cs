using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Conversion;
using Dsoup.Models.Inspection;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Tests;

public class InspectorTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private string Write(string name, StorageType type, params (string Name, long[] Shape, float Value)[] tensors)
    {
        string path = temp.File(name);
        var headers = tensors.Select(t => new TensorHeader(t.Name, type, t.Shape)).ToList();
        using var writer = SafetensorsWriter.Create(path, headers, null);
        for (int i = 0; i < headers.Count; i++)
        {
            var values = Enumerable.Repeat(tensors[i].Value, (int)(headers[i].ByteLength / (type.Bits() / 8))).ToArray();
            var bytes = new byte[headers[i].ByteLength];
            StorageConversion.Convert(StorageType.F32, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), type, bytes, new float[values.Length]);
            writer.Write(bytes);
        }
        writer.Commit();
        return path;
    }

    private static CheckpointReport Inspect(string path, bool scan = false)
    {
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
        return Inspector.Inspect(checkpoint, scan);
    }

    [Fact]
    public void ASyntheticTinyModelMatchesItsFamilyCompletely()
    {
        string path = temp.File("tiny.safetensors");
        SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Tiny, WithEma: true));
        CheckpointReport report = Inspect(path);
        Assert.Equal(ModelFamily.Tiny.DisplayName, report.Family);
        Assert.Empty(report.Suspicious);
        Assert.Equal(ModelFamily.Tiny.Specs(ModelComponent.Unet).Sum(s => s.Count), report.Components.Single(c => c.Component == "unet").Parameters);
        Assert.Equal(ModelFamily.Tiny.Specs(ModelComponent.Unet).Count, report.EmaTensors);
    }

    [Fact]
    public void APartialSd2InpaintingUNetIsIdentifiedAndItsGapsReported()
    {
        string path = Write("partial.safetensors", StorageType.F16,
            ("model.diffusion_model.input_blocks.0.0.weight", [320, 9, 3, 3], 0.1f),
            ("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", [320, 1024], 0.1f),
            ("model.diffusion_model.input_blocks.1.1.norm.weight", [321], 0.1f));
        CheckpointReport report = Inspect(path);
        Assert.Equal("SD 2.x", report.Family);
        Assert.StartsWith("inpainting", report.Variant);
        Assert.Contains(report.Suspicious, s => s.Contains("are missing", StringComparison.Ordinal));
        Assert.Contains(report.Suspicious, s => s.Contains("other shapes", StringComparison.Ordinal) && s.Contains("norm.weight", StringComparison.Ordinal));
    }

    [Fact]
    public void FloatPositionIdsNonFiniteValuesAndStrangersAreSuspicious()
    {
        string path = Write("odd.safetensors", StorageType.F32,
            ("cond_stage_model.transformer.text_model.embeddings.position_ids", [1, 77], 1f),
            ("model.diffusion_model.out.2.bias", [4], float.NaN),
            ("lora_unet_down.alpha", [], 1f));
        CheckpointReport report = Inspect(path, scan: true);
        Assert.Contains(report.Suspicious, s => s.Contains("position_ids", StringComparison.Ordinal) && s.Contains("F32", StringComparison.Ordinal));
        Assert.Contains(report.Suspicious, s => s.Contains("4 NaN or infinite values", StringComparison.Ordinal));
        Assert.Contains(report.Suspicious, s => s.Contains("'lora_unet_down.alpha'", StringComparison.Ordinal));
        Assert.DoesNotContain(Inspect(path, scan: false).Suspicious, s => s.Contains("NaN", StringComparison.Ordinal));
    }

    [Fact]
    public void FullSizeSd15IsInspectedAndConvertedWithThePublishedParameterCounts()
    {
        // Built from the architecture specs (checked against the reference key tables), random f16 values.
        string path = temp.File("sd15.safetensors");
        SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Sd15));
        CheckpointReport report = Inspect(path);
        Assert.Equal("SD 1.x", report.Family);
        Assert.Empty(report.Suspicious);
        Assert.Equal(859_520_964, report.Components.Single(c => c.Component == "unet").Parameters);
        Assert.Equal(83_653_863, report.Components.Single(c => c.Component == "vae").Parameters);
        Assert.Equal(123_060_480, report.Components.Single(c => c.Component == "text_encoder").Parameters);

        string folder = temp.File("sd15-diffusers");
        using (ModelCheckpoint checkpoint = ModelCheckpoint.Open(path))
        {
            CheckpointConverter.Convert(checkpoint, folder, new ConversionOptions(CheckpointLayout.Diffusers));
        }
        CheckpointReport converted = Inspect(folder);
        Assert.Equal("SD 1.x", converted.Family);
        Assert.Equal(report.Components.Select(c => c.Parameters), converted.Components.Select(c => c.Parameters));
        Assert.True(File.Exists(Path.Combine(folder, "unet", "config.json")));
        var original = CheckpointAssert.ReadAll(path)["model.diffusion_model.output_blocks.2.1.conv.weight"].Bytes;
        var moved = CheckpointAssert.ReadAll(Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors"))["up_blocks.0.upsamplers.0.conv.weight"].Bytes;
        Assert.Equal(original, moved);
    }
}
