using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Engine.Tests.Checkpoints;

/// <summary>The PyTorch zip reader on fixtures made by CPython's pickler (Fixtures/torch/make_fixtures.py).</summary>
public class TorchCheckpointTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch", name);

    [Theory]
    [InlineData("lightning.ckpt")]
    [InlineData("lightning-p4.ckpt")] // protocol 4: globals by STACK_GLOBAL
    public void LightningCheckpointsGiveTheirStateDictAndPlainValues(string file)
    {
        using ICheckpointReader reader = CheckpointFiles.Open(Fixture(file));
        Assert.Equal(["model.diffusion_model.conv_in_like.weight", "first_half", "second_half",
            "cond_stage_model.transformer.text_model.embeddings.position_ids", "scalar"], reader.Tensors.Select(t => t.Name));
        Assert.Equal("470000", reader.Metadata["global_step"]);
        TensorEntry w = reader.Tensors[0];
        Assert.Equal(StorageType.F32, w.Type);
        Assert.Equal([2L, 3L], w.Shape);
        Assert.Equal([0f, 1, 2, 3, 4, 5], MemoryMarshal.Cast<byte, float>(w.Bytes(0, 24)).ToArray());
        // Two tensors sharing one f16 storage at different offsets.
        Assert.Equal([0.25f, 8f], MemoryMarshal.Cast<byte, Half>(reader.Tensors[2].Bytes(0, 4)).ToArray().Select(h => (float)h));
        Assert.Equal(StorageType.I64, reader.Tensors[3].Type);
        Assert.Equal(5f, MemoryMarshal.Cast<byte, float>(reader.Tensors[4].Bytes(0, 4))[0]);
        Assert.Empty(reader.Tensors[4].Shape);
    }

    [Fact]
    public void PlainStateDictsInAnyArchiveFolderAreRead()
    {
        using ICheckpointReader reader = CheckpointFiles.Open(Fixture("plain.bin"));
        Assert.Equal("weight", Assert.Single(reader.Tensors).Name);
    }

    [Theory]
    [InlineData("evil.ckpt")]
    [InlineData("evil-p4.ckpt")]
    public void ForeignGlobalsAreRefusedByNameAndNeverRun(string file)
    {
        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointFiles.Open(Fixture(file)));
        Assert.Equal("RefusedGlobal", error.Rule);
        Assert.Contains("'posix.system'", error.Message);
    }

    [Theory]
    [InlineData("noncontiguous.ckpt", "NonContiguousTensor", "")]
    [InlineData("outofbounds.ckpt", "InvalidOffset", "")]
    [InlineData("compressed.ckpt", "CompressedStorage", "compressed")]
    [InlineData("missing-storage.ckpt", "MissingStorage", "not in the archive")]
    [InlineData("no-state-dict.ckpt", "NoStateDict", "dict of tensors")]
    [InlineData("negative-size.ckpt", "InvalidTensor", "negative size")]
    [InlineData("truncated-pickle.ckpt", "InvalidPickle", "")]
    [InlineData("big-endian.ckpt", "UnsupportedFormat", "big-endian")]
    [InlineData("legacy.ckpt", "UnsupportedFormat", "")]
    [InlineData("no-data-pkl.ckpt", "InvalidZip", "no data.pkl")]
    public void BrokenCheckpointsAreRejectedByRule(string file, string rule, string mention)
    {
        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointFiles.Open(Fixture(file)));
        Assert.Equal(rule, error.Rule);
        Assert.Contains(mention, error.Message);
        Assert.Contains(file, error.Message);
    }

    [Fact]
    public void TruncationsAndCorruptionOfACheckpointGiveFormatErrors()
    {
        byte[] valid = File.ReadAllBytes(Fixture("lightning.ckpt"));
        string folder = Directory.CreateTempSubdirectory("dsoup-ckpt-").FullName;
        try
        {
            var random = new System.Random(5);
            for (int trial = 0; trial < 600; trial++)
            {
                byte[] bytes = trial < 300 ? valid[..random.Next(valid.Length)] : (byte[])valid.Clone();
                if (trial >= 300)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
                string path = Path.Combine(folder, $"t{trial}.ckpt");
                File.WriteAllBytes(path, bytes);
                try
                {
                    using ICheckpointReader reader = CheckpointFiles.Open(path);
                    foreach (TensorEntry t in reader.Tensors)
                    {
                        _ = t.Bytes(0, (int)t.ByteLength).ToArray();
                    }
                }
                catch (CheckpointFormatException)
                {
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
