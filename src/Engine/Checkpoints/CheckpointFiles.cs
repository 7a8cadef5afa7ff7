using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Checkpoints.Torch;

namespace Dsoup.Engine.Checkpoints;

/// <summary>Opens a checkpoint file by what it is: safetensors, a sharded safetensors index, or a PyTorch zip.</summary>
public static class CheckpointFiles
{
    public static ICheckpointReader Open(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"{path} is a folder; open a diffusers folder through the model layouts");
        }
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }
        if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
        {
            return ShardedSafetensorsReader.Open(path);
        }
        if (IsTorchZip(path))
        {
            return TorchCheckpointReader.Open(path);
        }
        string extension = Path.GetExtension(path).ToLowerInvariant();
        return extension is ".ckpt" or ".pt" or ".pth" or ".bin"
            ? TorchCheckpointReader.Open(path)
            : SafetensorsReader.Open(path);
    }

    private static bool IsTorchZip(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("PK\u0003\u0004"u8);
    }
}
