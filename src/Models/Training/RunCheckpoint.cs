using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Models.Training;

/// <summary>
/// A resumable training checkpoint: every trained tensor, the optimizer's and the EMA's state, in f32, with the
/// step and the run's fingerprints in the metadata. Written tensor by tensor through a temporary file renamed
/// at the end, so a run killed at any moment leaves the previous checkpoint whole.
/// </summary>
internal static class RunCheckpoint
{
    public const string StepKey = "dsoup.train.step";
    public const string OptionsKey = "dsoup.train.options";
    public const string BaseKey = "dsoup.train.base";
    public const string DataKey = "dsoup.train.data";

    public static string PathFor(string run, int step) => Path.Combine(run, $"checkpoint-{step:D7}.safetensors");

    /// <summary>The newest checkpoint in a run folder, or null.</summary>
    public static string? Latest(string run) =>
        Directory.Exists(run) ? Directory.EnumerateFiles(run, "checkpoint-*.safetensors").Order(StringComparer.Ordinal).LastOrDefault() : null;

    public static void Save(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var headers = tensors.Select(t => new TensorHeader(t.Name, StorageType.F32, t.Tensor.Shape.Dims.ToArray().Select(d => (long)d).ToArray())).ToList();
        using SafetensorsWriter writer = SafetensorsWriter.Create(path, headers, metadata);
        foreach ((_, Tensor tensor) in tensors)
        {
            float[] values = tensor.ToArray();
            writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        writer.Commit();
    }

    /// <summary>The f32 values of tensor <paramref name="name"/>, or an error naming the checkpoint.</summary>
    public static float[] Read(SafetensorsReader reader, string name)
    {
        TensorEntry entry = reader.Tensors.FirstOrDefault(t => t.Name == name)
            ?? throw new InvalidDataException($"{reader.Source}: no '{name}'; the checkpoint is from another model or run configuration");
        if (entry.Type != StorageType.F32)
        {
            throw new InvalidDataException($"{reader.Source}: '{name}' is {entry.Type.Name()}, not F32");
        }
        var values = new float[entry.ElementCount];
        entry.Read(0, MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Copies f32 values into a tensor of any dtype.</summary>
    public static void Restore(Tensor tensor, float[] values)
    {
        if (values.Length != tensor.Count)
        {
            throw new InvalidDataException($"'{tensor.Name}' holds {tensor.Count} values; the checkpoint has {values.Length}");
        }
        using Tensor wide = Tensor.FromArray(values, tensor.Shape, tensor.DType, tensor.Device);
        tensor.Device.Backend.Copy(wide.View, tensor.View, tensor.ByteCount);
    }
}
