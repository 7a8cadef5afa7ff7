using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>
/// Writes a model as one safetensors file in its source's own layout (original, or diffusers naming for a folder
/// or diffusers file) and each tensor's own dtype, with some tensors replaced by new f32 values (a fine-tune's
/// UNet) rounded to that dtype, so the result is souped, sampled and inspected like the base.
/// </summary>
public static class ModelExport
{
    public static void Write(ModelCheckpoint source, string path, IReadOnlyDictionary<string, float[]> replacements,
        IReadOnlyDictionary<string, string> metadata)
    {
        IReadOnlyList<PlannedTensor> plan = source.Layout == CheckpointLayout.Original
            ? LayoutPlanner.Original(source.Tensors, source.TextEncoder)
            : LayoutPlanner.DiffusersFile(source.Tensors);
        PlanWriter.Write(path, plan, p => p.Type, metadata, new Replacing(replacements, new ConvertingCopy()));
    }

    private sealed class Replacing(IReadOnlyDictionary<string, float[]> replacements, ITensorProducer fallback) : ITensorProducer
    {
        public void Produce(ModelTensor tensor, StorageType type, SafetensorsWriter writer)
        {
            if (!replacements.TryGetValue(tensor.Name, out float[]? values))
            {
                fallback.Produce(tensor, type, writer);
                return;
            }
            if (values.Length != tensor.ElementCount)
            {
                throw new InvalidDataException($"'{tensor.Name}' has {tensor.ElementCount} elements; its replacement holds {values.Length}");
            }
            var bytes = new byte[values.Length * (type.Bits() / 8)];
            StorageConversion.Convert(StorageType.F32, MemoryMarshal.AsBytes(values.AsSpan()), type, bytes, values.ToArray());
            writer.Write(bytes);
        }
    }
}
