using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Lora;

/// <summary>
/// LoRA adapters on a built model's linear layers: attached fresh for training (the UNet's attention projections,
/// as kohya and diffusers train them), saved in kohya's or PEFT's naming, loaded back from any LoRA file dsoup
/// reads, and merged into the weights (W + (α/r)·B·A) for a model file.
/// </summary>
public static partial class LoraAdapters
{
    /// <summary>Fresh adapters on every UNet attention projection (to_q, to_k, to_v, to_out.0 of attn1 and attn2).</summary>
    public static IReadOnlyList<(string Module, LoraAdapter Adapter)> AttachFresh(IReadOnlyDictionary<string, Linear> linears, int rank, float alpha,
        ulong seed, DType dtype, Device device)
    {
        if (rank < 1 || alpha <= 0)
        {
            throw new ArgumentException($"--rank must be at least 1 and --alpha positive; got {rank} and {alpha}");
        }
        var attached = new List<(string, LoraAdapter)>();
        foreach ((string module, Linear layer) in linears.Where(l => AttentionProjection().IsMatch(l.Key)).OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            layer.Adapter = LoraAdapter.Fresh(layer, Math.Min(rank, Math.Min(layer.InFeatures, layer.OutFeatures)), alpha, seed, module, dtype, device);
            attached.Add((module, layer.Adapter));
        }
        if (attached.Count == 0)
        {
            throw new InvalidOperationException("the model has no UNet attention projections for LoRA adapters");
        }
        return attached;
    }

    /// <summary>Writes the adapters (modules in canonical naming, "unet.….to_q") as a LoRA file in one convention, through a temporary file.</summary>
    public static void Save(string path, IReadOnlyList<(string Module, LoraAdapter Adapter)> adapters, LoraConvention convention,
        IReadOnlyDictionary<string, string> metadata)
    {
        var headers = new List<TensorHeader>();
        var values = new List<float[]>();
        foreach ((string module, LoraAdapter adapter) in adapters)
        {
            string name = convention == LoraConvention.Kohya ? LoraKeys.IdOfTensor(module + ".weight")! : module;
            headers.Add(new TensorHeader(LoraKeys.TensorName(name, LoraRole.Down, convention), StorageType.F32, [adapter.Rank, adapter.Down.Shape[1]]));
            values.Add(adapter.Down.ToArray());
            headers.Add(new TensorHeader(LoraKeys.TensorName(name, LoraRole.Up, convention), StorageType.F32, [adapter.Up.Shape[0], adapter.Rank]));
            values.Add(adapter.Up.ToArray());
            headers.Add(new TensorHeader(LoraKeys.TensorName(name, LoraRole.Alpha, convention), StorageType.F32, []));
            values.Add([adapter.Alpha]);
        }
        using SafetensorsWriter writer = SafetensorsWriter.Create(path, headers, metadata);
        foreach (float[] v in values)
        {
            writer.Write(MemoryMarshal.AsBytes(v.AsSpan()));
        }
        writer.Commit();
    }

    /// <summary>Attaches the modules of a LoRA file to the matching linear layers (unmerged); returns how many attached.</summary>
    public static int Load(string path, IReadOnlyDictionary<string, Linear> linears, DType dtype, Device device)
    {
        using LoraFile file = LoraFile.Open(path);
        var byId = linears.ToDictionary(l => LoraKeys.IdOfTensor(l.Key + ".weight") ?? l.Key, l => l.Value, StringComparer.Ordinal);
        int attached = 0;
        foreach (LoraModule module in file.Modules)
        {
            if (!byId.TryGetValue(module.Id, out Linear? layer))
            {
                continue;
            }
            if (module.RowLength != layer.InFeatures || module.OutFeatures != layer.OutFeatures)
            {
                throw new InvalidDataException($"{path}: LoRA module '{module.Id}' is {module.OutFeatures}×{module.RowLength}; the layer is {layer.OutFeatures}×{layer.InFeatures}");
            }
            Tensor down = Tensor.FromArray(module.ReadDown().Values.Select(v => (float)v).ToArray(), new Shape(module.Rank, layer.InFeatures), dtype, device).Persist();
            Tensor up = Tensor.FromArray(module.ReadUp().Values.Select(v => (float)v).ToArray(), new Shape(layer.OutFeatures, module.Rank), dtype, device).Persist();
            layer.Adapter = new LoraAdapter(down, up, (float)(module.Alpha ?? module.Rank));
            attached++;
        }
        return attached;
    }

    /// <summary>W + (α/r)·B·A of the adapted layer whose weight is <paramref name="weightName"/> (canonical), in f64 rounded to f32; null for other tensors.</summary>
    public static float[]? Merged(string weightName, IReadOnlyDictionary<string, Linear> linears)
    {
        if (!weightName.EndsWith(".weight", StringComparison.Ordinal) || !linears.TryGetValue(weightName[..^".weight".Length], out Linear? layer)
            || layer.Adapter is not LoraAdapter adapter)
        {
            return null;
        }
        float[] w = layer.Weight.ToArray(), a = adapter.Down.ToArray(), b = adapter.Up.ToArray();
        int outF = layer.OutFeatures, inF = layer.InFeatures, r = adapter.Rank;
        for (int o = 0; o < outF; o++)
        {
            for (int i = 0; i < inF; i++)
            {
                double sum = 0;
                for (int k = 0; k < r; k++)
                {
                    sum += (double)b[o * r + k] * a[k * inF + i];
                }
                w[o * inF + i] = (float)(w[o * inF + i] + adapter.Scale * sum);
            }
        }
        return w;
    }

    [GeneratedRegex(@"^unet\..*attn[12]\.(to_q|to_k|to_v|to_out\.0)$")]
    private static partial Regex AttentionProjection();
}
