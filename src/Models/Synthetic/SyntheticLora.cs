using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;
using Dsoup.Models.Lora;

namespace Dsoup.Models.Synthetic;

/// <summary>
/// Writes a LoRA for a given model with deterministic values: the UNet's attention projections
/// (linear), its resnet conv1 kernels (3×3 LoCon) and the text encoder's q/v projections, the way
/// common trainers target them; in kohya or PEFT naming. For tests and demos.
/// </summary>
public static partial class SyntheticLora
{
    public static void Write(string path, ModelCheckpoint model, int rank, LoraConvention convention, ulong seed, StorageType type, double alpha, float scale = 0.05f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        var targets = model.Tensors.Where(t => Targeted().IsMatch(t.Name) && t.Shape.Length is 2 or 4).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        if (targets.Count == 0)
        {
            throw new ArgumentException($"{model.Source} has no attention, conv or text-encoder projection weights for a LoRA to target");
        }
        var headers = new List<TensorHeader>();
        foreach (ModelTensor target in targets)
        {
            string id = LoraKeys.IdOfTensor(target.Name)!;
            string module = convention == LoraConvention.Kohya ? id : target.Name[..^".weight".Length];
            long[] down = [rank, .. target.Shape.Skip(1)];
            long[] up = target.Shape.Length == 4 ? [target.Shape[0], rank, 1, 1] : [target.Shape[0], rank];
            headers.Add(new TensorHeader(LoraKeys.TensorName(module, LoraRole.Down, convention), type, down));
            headers.Add(new TensorHeader(LoraKeys.TensorName(module, LoraRole.Up, convention), type, up));
            headers.Add(new TensorHeader(LoraKeys.TensorName(module, LoraRole.Alpha, convention), StorageType.F32, []));
        }
        using var writer = SafetensorsWriter.Create(path, headers, new Dictionary<string, string> { ["format"] = "pt", ["dsoup.synthetic"] = "lora" });
        foreach (TensorHeader header in headers)
        {
            long count = header.Shape.Aggregate(1L, (a, d) => a * d);
            var values = new float[count];
            if (header.Shape.Length == 0)
            {
                values[0] = (float)alpha;
            }
            else
            {
                SyntheticValues.Fill(values, seed ^ SyntheticValues.StableHash(header.Name), 0, scale, add: false);
            }
            var bytes = new byte[header.ByteLength];
            StorageConversion.Convert(StorageType.F32, MemoryMarshal.AsBytes(values.AsSpan()), header.Type, bytes, values);
            writer.Write(bytes);
        }
        writer.Commit();
    }

    [GeneratedRegex(@"^(unet\..*(attn[12]\.(to_q|to_k|to_v|to_out\.0)|resnets\.\d+\.conv1)|text_encoder\..*self_attn\.(q_proj|v_proj))\.weight$")]
    private static partial Regex Targeted();
}
