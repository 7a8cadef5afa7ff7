using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Tests;

/// <summary>Checkpoints arrive as single files in either layout, diffusers folders, component folders, shards and .ckpt.</summary>
public class OpeningFormsTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private static void Write(string path, params (string Name, long[] Shape)[] tensors)
    {
        var headers = tensors.Select(t => new TensorHeader(t.Name, StorageType.F32, t.Shape)).ToList();
        using var writer = SafetensorsWriter.Create(path, headers, null);
        foreach (TensorHeader h in headers)
        {
            writer.Write(new byte[h.ByteLength]);
        }
        writer.Commit();
    }

    [Fact]
    public void AnUnprefixedDiffusersUNetFileIsRecognised()
    {
        string path = temp.File("diffusion_pytorch_model.safetensors");
        SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Tiny, CheckpointLayout.Diffusers, Components: [ModelComponent.Unet]));
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
        Assert.Equal(CheckpointLayout.Diffusers, checkpoint.Layout);
        Assert.Equal([ModelComponent.Unet], checkpoint.Components);
        Assert.NotNull(checkpoint.Find("unet.conv_in.weight"));
        // A folder holding just that file opens as the same component.
        using ModelCheckpoint folder = ModelCheckpoint.Open(temp.Path);
        Assert.Equal(checkpoint.Tensors.Count, folder.Tensors.Count);
    }

    [Fact]
    public void LegacyVaeAndFlattenedClipNamesAreNormalised()
    {
        string vae = temp.File("vae.safetensors");
        Write(vae, ("encoder.conv_in.weight", [4, 3, 3, 3]), ("encoder.mid_block.attentions.0.query.weight", [4, 4]), ("decoder.mid_block.attentions.0.proj_attn.bias", [4]));
        using (ModelCheckpoint checkpoint = ModelCheckpoint.Open(vae))
        {
            Assert.NotNull(checkpoint.Find("vae.encoder.mid_block.attentions.0.to_q.weight"));
            Assert.NotNull(checkpoint.Find("vae.decoder.mid_block.attentions.0.to_out.0.bias"));
        }
        string clip = temp.File("clip.safetensors");
        Write(clip, ("embeddings.token_embedding.weight", [10, 4]), ("encoder.layers.0.mlp.fc1.weight", [8, 4]), ("embeddings.position_ids", [1, 77]));
        using (ModelCheckpoint checkpoint = ModelCheckpoint.Open(clip))
        {
            Assert.NotNull(checkpoint.Find("text_encoder.text_model.embeddings.token_embedding.weight"));
            Assert.NotNull(checkpoint.Find("text_encoder.text_model.encoder.layers.0.mlp.fc1.weight"));
            Assert.Contains(checkpoint.Extras, t => t.Name == "embeddings.position_ids");
        }
    }

    [Fact]
    public void AShardedComponentInAPipelineFolderOpens()
    {
        string unet = Path.Combine(temp.Path, "pipe", "unet");
        Directory.CreateDirectory(unet);
        Write(Path.Combine(unet, "part1.safetensors"), ("conv_in.weight", [8, 4, 3, 3]));
        Write(Path.Combine(unet, "part2.safetensors"), ("time_embedding.linear_1.weight", [32, 8]));
        File.WriteAllText(Path.Combine(unet, "diffusion_pytorch_model.safetensors.index.json"),
            "{\"weight_map\":{\"conv_in.weight\":\"part1.safetensors\",\"time_embedding.linear_1.weight\":\"part2.safetensors\"}}");
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(Path.Combine(temp.Path, "pipe"));
        Assert.True(checkpoint.IsFolder);
        Assert.Equal(2, checkpoint.Tensors.Count);
        Assert.Contains("safetensors (sharded, 2 files)", checkpoint.Formats);
    }

    [Fact]
    public void TwoTensorsWithOneCanonicalNameAreRejected()
    {
        string path = temp.File("dup.safetensors");
        Write(path, ("text_model.final_layer_norm.weight", [4]), ("final_layer_norm.weight", [4]));
        var error = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Open(path));
        Assert.Equal("DuplicateKey", error.Rule);
    }

    [Fact]
    public void UnrecognisedTensorNamesOpenAsTheyAre()
    {
        string path = temp.File("plain.safetensors");
        Write(path, ("t0", [4, 4]), ("t1", [3]), ("blocks.0.attn.q.weight", [2, 2]));
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
        Assert.Equal(CheckpointLayout.Plain, checkpoint.Layout);
        Assert.Null(checkpoint.Foreign);
        Assert.Empty(checkpoint.Components);
        Assert.Equal(["t0", "t1", "blocks.0.attn.q.weight"], checkpoint.Tensors.Select(t => t.Name));
        Assert.All(checkpoint.Tensors, t => Assert.Null(t.Component));
        Assert.Equal(new long[] { 4, 4 }, checkpoint.Find("t0")!.Shape);
    }

    /// <summary>Key patterns of the families users merge today, as their checkpoints spell them (a few tensors each).</summary>
    public static TheoryData<string, string, string[], long[]> ForeignCheckpoints() => new()
    {
        { "sdxl-base", "sdxl-base-original", ["model.diffusion_model.label_emb.0.0.weight", "model.diffusion_model.input_blocks.0.0.weight", "conditioner.embedders.1.model.ln_final.weight"], [1280, 2816] },
        { "sdxl-base", "sdxl-base-unet", ["add_embedding.linear_1.weight", "conv_in.weight", "time_embedding.linear_1.weight"], [1280, 2816] },
        { "sdxl-refiner", "sdxl-refiner-original", ["model.diffusion_model.label_emb.0.0.weight", "conditioner.embedders.0.model.ln_final.weight"], [1536, 2560] },
        { "sdxl-refiner", "sdxl-refiner-unet", ["add_embedding.linear_1.weight", "conv_in.weight", "time_embedding.linear_1.weight"], [1536, 2560] },
        { "sd3", "sd3-original", ["model.diffusion_model.joint_blocks.0.context_block.attn.qkv.weight", "model.diffusion_model.x_embedder.proj.weight"], [4, 4] },
        { "sd3", "sd3-diffusers", ["transformer_blocks.0.attn.add_q_proj.weight", "context_embedder.weight", "pos_embed.proj.weight"], [4, 4] },
        { "flux", "flux-original", ["double_blocks.0.img_attn.qkv.weight", "single_blocks.0.linear1.weight", "img_in.weight"], [4, 4] },
        { "flux", "flux-diffusers", ["transformer_blocks.0.attn.add_q_proj.weight", "single_transformer_blocks.0.attn.to_q.weight", "x_embedder.weight"], [4, 4] },
        { "transformers-decoder", "llama", ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "lm_head.weight"], [4, 4] },
        { "transformers-gpt2", "gpt2", ["transformer.wte.weight", "transformer.h.0.attn.c_attn.weight"], [4, 4] },
        { "transformers-seq2seq", "bart", ["model.encoder.layers.0.self_attn.q_proj.weight", "model.decoder.layers.0.encoder_attn.q_proj.weight"], [4, 4] },
        { "transformers-seq2seq", "t5", ["encoder.block.0.layer.0.SelfAttention.q.weight", "decoder.block.0.layer.1.EncDecAttention.q.weight"], [4, 4] },
        { "transformers-encoder", "bert", ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight"], [4, 4] },
        { "transformers-encoder", "vit", ["vit.encoder.layer.0.attention.attention.query.weight"], [4, 4] },
    };

    [Theory]
    [MemberData(nameof(ForeignCheckpoints))]
    public void FamiliesDsoupDoesNotRunAreNamedAndOpenPlain(string family, string file, string[] names, long[] firstShape)
    {
        string path = temp.File(file + ".safetensors");
        Write(path, names.Select((n, i) => (n, i == 0 ? firstShape : new long[] { 4, 4 })).ToArray());
        using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
        Assert.Equal(family, checkpoint.Foreign?.Name);
        Assert.Equal(CheckpointLayout.Plain, checkpoint.Layout);
        Assert.Equal(names, checkpoint.Tensors.Select(t => t.Name));
        var report = Inspection.Inspector.Inspect(checkpoint);
        Assert.StartsWith(checkpoint.Foreign!.DisplayName, report.Family);
        Assert.Empty(report.Suspicious);
    }

    [Fact]
    public void StableDiffusionCheckpointsAreNotTakenForForeignFamilies()
    {
        foreach (CheckpointLayout layout in new[] { CheckpointLayout.Original, CheckpointLayout.Diffusers })
        {
            string path = temp.File($"tiny-{layout}.safetensors");
            SyntheticCheckpoint.Write(path, new SyntheticOptions(ModelFamily.Tiny, layout));
            using ModelCheckpoint checkpoint = ModelCheckpoint.Open(path);
            Assert.Null(checkpoint.Foreign);
            Assert.Equal(layout, checkpoint.Layout);
        }
    }

    [Fact]
    public void APackedProjectionThatCannotSplitIsRejected()
    {
        string path = temp.File("badclip.safetensors");
        Write(path, ("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", [1000, 4]));
        Assert.Equal("UnexpectedShape", Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Open(path)).Rule);
    }
}
