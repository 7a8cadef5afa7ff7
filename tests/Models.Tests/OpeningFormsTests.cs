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
    public void UnrecognisedTensorNamesAreRefusedWithAReason()
    {
        string path = temp.File("llm.safetensors");
        Write(path, ("model.layers.0.self_attn.q_proj.weight", [4, 4]));
        Assert.Equal("UnknownModel", Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Open(path)).Rule);
    }

    [Fact]
    public void APackedProjectionThatCannotSplitIsRejected()
    {
        string path = temp.File("badclip.safetensors");
        Write(path, ("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", [1000, 4]));
        Assert.Equal("UnexpectedShape", Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Open(path)).Rule);
    }
}
