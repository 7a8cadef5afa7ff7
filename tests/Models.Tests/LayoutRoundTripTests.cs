using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Conversion;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Tests;

public class LayoutRoundTripTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private string Synthesize(string name, SyntheticOptions options)
    {
        string path = temp.File(name);
        SyntheticCheckpoint.Write(path, options);
        return path;
    }

    private static void Convert(string input, string output, ConversionOptions options)
    {
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(input);
        CheckpointConverter.Convert(checkpoint, output, options);
    }

    [Theory]
    [InlineData("folder")]
    [InlineData("single.safetensors")]
    public void OriginalToDiffusersAndBackIsBitExact(string diffusersTarget)
    {
        string original = Synthesize("o.safetensors", new SyntheticOptions(ModelFamily.Tiny, WithEma: true));
        string diffusers = temp.File(diffusersTarget);
        Convert(original, diffusers, new ConversionOptions(CheckpointLayout.Diffusers));
        string back = temp.File("back.safetensors");
        Convert(diffusers, back, new ConversionOptions(CheckpointLayout.Original));
        CheckpointAssert.SameTensors(original, back);
    }

    [Fact]
    public void ADiffusersFolderHoldsOneFilePerComponentAndTheExtras()
    {
        string original = Synthesize("o.safetensors", new SyntheticOptions(ModelFamily.Tiny, WithEma: true));
        string folder = temp.File("pipe");
        Convert(original, folder, new ConversionOptions(CheckpointLayout.Diffusers));
        Assert.True(File.Exists(Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(folder, "vae", "diffusion_pytorch_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(folder, "text_encoder", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(folder, ModelCheckpoint.ExtrasFileName)));
        Assert.False(Directory.Exists(folder + ".partial"));
        var unet = CheckpointAssert.ReadAll(Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors"));
        Assert.Contains("conv_in.weight", unet.Keys);
    }

    [Fact]
    public void F16ToF32ToF16IsBitExactIncludingSpecialValues()
    {
        string original = temp.File("specials.safetensors");
        ushort[] specials = [0x0000, 0x8000, 0x0001, 0x03FF, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0xFE01, 0x1234];
        using (var writer = SafetensorsWriter.Create(original, [new TensorHeader("model.diffusion_model.conv_in.weight", StorageType.F16, [specials.Length])], null))
        {
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(specials.AsSpan()));
            writer.Commit();
        }
        string wide = temp.File("wide.safetensors"), narrow = temp.File("narrow.safetensors");
        Convert(original, wide, new ConversionOptions(DType: Kernels.DType.F32));
        Convert(wide, narrow, new ConversionOptions(DType: Kernels.DType.F16));
        Assert.Equal(StorageType.F32, CheckpointAssert.ReadAll(wide).Single().Value.Type);
        CheckpointAssert.SameTensors(original, narrow);
        string synthetic = Synthesize("s.safetensors", new SyntheticOptions(ModelFamily.Tiny));
        Convert(synthetic, wide, new ConversionOptions(DType: Kernels.DType.F32, Overwrite: true));
        Convert(wide, narrow, new ConversionOptions(DType: Kernels.DType.F16, Overwrite: true));
        CheckpointAssert.SameTensors(synthetic, narrow);
    }

    [Fact]
    public void OpenClipPackedProjectionsSplitAndRepackExactly()
    {
        // An SD 2-style original file: OpenCLIP keys with packed in_proj, plus the tower's dropped parts.
        var family = ModelFamily.Tiny with { TextEncoder = new TextEncoderConfig(1024, 64, 2, 8, 77) };
        var tensors = family.Tensors(StorageType.F16, [ModelComponent.TextEncoder]).ToList();
        var plan = LayoutPlanner.Original(tensors, TextEncoderKind.OpenClipH).ToList();
        var extra = new ModelTensor("cond_stage_model.model.text_projection", null, "cond_stage_model.model.text_projection", StorageType.F16, [1024, 4], []);
        plan.Add(new PlannedTensor(extra.Name, extra.Shape, [extra]));
        plan.Add(new PlannedTensor("cond_stage_model.model.transformer.resblocks.23.ln_1.weight", [1024], [extra with { Name = "r23", Shape = [1024] }]));
        string original = temp.File("sd2.safetensors");
        PlanWriter.Write(original, plan, p => p.Type, null, new SyntheticValues(3, 0, 0));
        Assert.Contains("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", CheckpointAssert.ReadAll(original).Keys);

        string diffusers = temp.File("te");
        Convert(original, diffusers, new ConversionOptions(CheckpointLayout.Diffusers));
        var split = CheckpointAssert.ReadAll(Path.Combine(diffusers, "text_encoder", "model.safetensors"));
        var packed = CheckpointAssert.ReadAll(original)["cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight"].Bytes;
        int third = packed.Length / 3;
        Assert.Equal(packed[third..(2 * third)], split["text_model.encoder.layers.1.self_attn.k_proj.weight"].Bytes);
        Assert.Equal([1024L, 1024L], split["text_model.encoder.layers.1.self_attn.v_proj.weight"].Shape);

        string back = temp.File("back.safetensors");
        Convert(diffusers, back, new ConversionOptions(CheckpointLayout.Original));
        CheckpointAssert.SameTensors(original, back);
    }

    [Fact]
    public void EmaPoliciesKeepDropOrPromoteTheEmaWeights()
    {
        string original = Synthesize("ema.safetensors", new SyntheticOptions(ModelFamily.Tiny, WithEma: true));
        var source = CheckpointAssert.ReadAll(original);
        string used = temp.File("used.safetensors"), dropped = temp.File("dropped.safetensors");
        Convert(original, used, new ConversionOptions(Ema: EmaPolicy.Use));
        Convert(original, dropped, new ConversionOptions(Ema: EmaPolicy.Drop));
        var promoted = CheckpointAssert.ReadAll(used);
        Assert.DoesNotContain(promoted.Keys, k => k.StartsWith("model_ema.", StringComparison.Ordinal));
        Assert.Equal(source["model_ema.diffusion_modelinput_blocks11normweight"].Bytes, promoted["model.diffusion_model.input_blocks.1.1.norm.weight"].Bytes);
        Assert.NotEqual(source["model.diffusion_model.input_blocks.1.1.norm.weight"].Bytes, promoted["model.diffusion_model.input_blocks.1.1.norm.weight"].Bytes);
        var plain = CheckpointAssert.ReadAll(dropped);
        Assert.DoesNotContain(plain.Keys, k => k.StartsWith("model_ema.", StringComparison.Ordinal));
        Assert.Equal(source["model.diffusion_model.out.2.weight"].Bytes, plain["model.diffusion_model.out.2.weight"].Bytes);

        string noEma = Synthesize("noema.safetensors", new SyntheticOptions(ModelFamily.Tiny));
        var error = Assert.Throws<InvalidDataException>(() => Convert(noEma, temp.File("x.safetensors"), new ConversionOptions(Ema: EmaPolicy.Use)));
        Assert.Contains("no EMA weights", error.Message);
    }

    [Fact]
    public void AnExistingOutputIsNotOverwrittenUnlessAsked()
    {
        string original = Synthesize("o.safetensors", new SyntheticOptions(ModelFamily.Tiny));
        string output = temp.File("out.safetensors");
        File.WriteAllText(output, "precious");
        Assert.Throws<IOException>(() => Convert(original, output, new ConversionOptions()));
        Assert.Equal("precious", File.ReadAllText(output));
        Convert(original, output, new ConversionOptions(Overwrite: true));
        CheckpointAssert.SameTensors(original, output);
    }
}
