using Dsoup.Engine.Autograd;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;
using Dsoup.Kernels.Nn;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>
    /// diffusers' sinusoidal timestep embedding [T, dim]: frequencies exp(−ln(maxPeriod)·i/(dim/2 − freqShift)),
    /// [sin, cos] halves ([cos, sin] with <paramref name="flipSinToCos"/>), a zero column when dim is odd.
    /// Computed on the host in f32 in the reference's order of operations, then uploaded.
    /// </summary>
    public static Tensor TimestepEmbedding(ReadOnlySpan<float> timesteps, int dim, bool flipSinToCos, float freqShift,
        DType dtype, Device device, float maxPeriod = 10000f)
    {
        int half = dim / 2;
        var values = new float[timesteps.Length * dim];
        float logPeriod = (float)-Math.Log(maxPeriod);
        for (int t = 0; t < timesteps.Length; t++)
        {
            for (int i = 0; i < half; i++)
            {
                float frequency = MathF.Exp(logPeriod * i / (half - freqShift));
                float angle = timesteps[t] * frequency;
                float sin = MathF.Sin(angle), cos = MathF.Cos(angle);
                values[t * dim + i] = flipSinToCos ? cos : sin;
                values[t * dim + half + i] = flipSinToCos ? sin : cos;
            }
        }
        return Tensor.FromArray(values, new Shape(timesteps.Length, dim), dtype, device);
    }

    /// <summary>Rows of <paramref name="table"/> [V, D] picked by <paramref name="ids"/>: token and position embeddings.</summary>
    public static Tensor Embedding(Tensor table, ReadOnlySpan<int> ids)
    {
        const string op = "Embedding";
        if (table.Shape.Rank != 2)
        {
            throw new ArgumentException($"{op}: the table must be [vocabulary, width]; got {table.Shape}");
        }
        int vocabulary = table.Shape[0], width = table.Shape[1];
        int[] picked = ids.ToArray();
        Tensor result = Tensor.Empty(new Shape(picked.Length, width), table.DType, table.Device);
        IBackend backend = table.Device.Backend;
        for (int i = 0; i < picked.Length; i++)
        {
            if ((uint)picked[i] >= (uint)vocabulary)
            {
                throw new ArgumentException($"{op}: id {picked[i]} at position {i} is outside the table {table.Shape}");
            }
            backend.CopyAxis(table.DType, table.View, result.View, new AxisCopy(1, width, vocabulary, picked[i], picked.Length, i, 1));
        }
        Tape.Record(op, [table], result, g =>
        {
            Tensor gradTable = Tensor.Zeros(table.Shape, g.DType, g.Device);
            for (int i = 0; i < picked.Length; i++)
            {
                BufferView row = gradTable.ViewAt((long)picked[i] * width);
                backend.Axpy(g.DType, 1f, g.ViewAt((long)i * width), row, row, width);
            }
            return [gradTable];
        });
        return result;
    }
}
