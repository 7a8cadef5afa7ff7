using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>
/// Writes a model as one safetensors file in its source's own layout (original, or diffusers naming for a folder
/// or diffusers file) and each tensor's own dtype, with some tensors replaced by new f32 values (a fine-tune's
/// UNet) rounded to that dtype, so the result is souped, sampled and inspected like the base. Replacements are
/// asked for one tensor at a time, so exporting a model costs one tensor's memory, not a copy of the model.
/// </summary>
public static class ModelExport
{
    /// <param name="replacement">The new values of a tensor by canonical name, or null to copy the source's.</param>
    public static void Write(ModelCheckpoint source, string path, Func<string, float[]?> replacement,
        IReadOnlyDictionary<string, string> metadata)
    {
        IReadOnlyList<PlannedTensor> plan = source.Layout == CheckpointLayout.Original
            ? LayoutPlanner.Original(source.Tensors, source.TextEncoder)
            : LayoutPlanner.DiffusersFile(source.Tensors);
        PlanWriter.Write(path, plan, p => p.Type, metadata, new Replacing(replacement, new ConvertingCopy()));
    }

    private sealed class Replacing(Func<string, float[]?> replacement, ITensorProducer fallback) : ITensorProducer
    {
        public void Produce(ModelTensor tensor, StorageType type, SafetensorsWriter writer)
        {
            if (replacement(tensor.Name) is not float[] values)
            {
                fallback.Produce(tensor, type, writer);
                return;
            }
            if (values.Length != tensor.ElementCount)
            {
                throw new InvalidDataException($"'{tensor.Name}' has {tensor.ElementCount} elements; its replacement holds {values.Length}");
            }
            var bytes = new byte[values.Length * (type.Bits() / 8)];
            StorageConversion.Convert(StorageType.F32, MemoryMarshal.AsBytes(values.AsSpan()), type, bytes, new float[values.Length]);
            writer.Write(bytes);
        }
    }
}
