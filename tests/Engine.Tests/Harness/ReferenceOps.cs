namespace Dsoup.Engine.Tests.Harness;

/// <summary>Float64 references of the engine's ops on flattened row-major arrays.</summary>
public static class ReferenceOps
{
    public static double[] Zip(double[] a, double[] b, Func<double, double, double> f) =>
        a.Select((v, i) => f(v, b[i])).ToArray();

    /// <summary>Sum (or mean) over <paramref name="axis"/> of a tensor of <paramref name="shape"/>.</summary>
    public static double[] ReduceAxis(double[] x, Shape shape, int axis, bool mean)
    {
        int a = shape.Axis(axis);
        long outer = shape.Product(0, a), extent = shape[a], inner = shape.Product(a + 1, shape.Rank);
        var result = new double[outer * inner];
        for (long o = 0; o < outer; o++)
        {
            for (long i = 0; i < inner; i++)
            {
                double sum = 0;
                for (long e = 0; e < extent; e++)
                {
                    sum += x[(o * extent + e) * inner + i];
                }
                result[o * inner + i] = mean ? sum / extent : sum;
            }
        }
        return result;
    }

    /// <summary>
    /// Batched op(A)·op(B) over the last two axes; a rank-2 operand is shared across the batch.
    /// </summary>
    public static double[] BatchedMatMul(double[] a, Shape sa, double[] b, Shape sb, bool ta, bool tb)
    {
        int m = ta ? sa[-1] : sa[-2], k = ta ? sa[-2] : sa[-1], n = tb ? sb[-2] : sb[-1];
        long batch = Math.Max(sa.Product(0, sa.Rank - 2), sb.Product(0, sb.Rank - 2));
        long strideA = sa.Rank == 2 ? 0 : (long)m * k, strideB = sb.Rank == 2 ? 0 : (long)k * n;
        var c = new List<double>();
        for (long i = 0; i < batch; i++)
        {
            double[] ai = a.Skip((int)(i * strideA)).Take(m * k).ToArray();
            double[] bi = b.Skip((int)(i * strideB)).Take(k * n).ToArray();
            c.AddRange(Reference.MatMul(ai, bi, m, n, k, ta, tb));
        }
        return [.. c];
    }
}
