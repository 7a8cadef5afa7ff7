using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Models.Modules;

/// <summary>
/// A LoRA adapter (Hu et al., 2021) on a linear layer: Down = A [rank, in], Up = B [out, rank], output
/// (α/rank)·B·(A·x). A fresh adapter starts as PEFT initialises it: A uniform in ±1/√in, B zero, so the
/// model is unchanged until B learns.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    public LoraAdapter(Tensor down, Tensor up, float alpha)
    {
        if (down.Shape.Rank != 2 || up.Shape.Rank != 2 || up.Shape[1] != down.Shape[0])
        {
            throw new ArgumentException($"LoRA factors {down.Shape} (down) and {up.Shape} (up) do not chain");
        }
        Down = down;
        Up = up;
        Alpha = alpha;
    }

    public Tensor Down { get; }

    public Tensor Up { get; }

    public float Alpha { get; }

    public int Rank => Down.Shape[0];

    public float Scale => Alpha / Rank;

    public static LoraAdapter Fresh(Linear layer, int rank, float alpha, ulong seed, string name, DType dtype, Device device)
    {
        float bound = 1f / MathF.Sqrt(layer.InFeatures);
        using Tensor uniform = Tensor.RandUniform(new Shape(rank, layer.InFeatures), seed ^ Data.Sharding.StableHash(name), DType.F32, Device.Cpu);
        float[] down = uniform.ToArray().Select(u => (2 * u - 1) * bound).ToArray();
        Tensor a = Tensor.FromArray(down, new Shape(rank, layer.InFeatures), dtype, device).Persist();
        Tensor b = Tensor.Zeros(new Shape(layer.OutFeatures, rank), dtype, device).Persist();
        a.Name = $"{name}.lora_down";
        b.Name = $"{name}.lora_up";
        return new LoraAdapter(a, b, alpha);
    }

    public Tensor Forward(Tensor x) => Ops.Linear(Ops.Linear(x, Down), Up) * Scale;

    public void Dispose()
    {
        Down.Dispose();
        Up.Dispose();
    }
}
