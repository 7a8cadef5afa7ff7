using Dsoup.Kernels.Numerics;

namespace Dsoup.Engine.Tests.Harness;

/// <summary>Float64 helpers: rounding to a storage dtype, random inputs, tolerant comparison.</summary>
public static class Reference
{
    /// <summary>The value a tensor of <paramref name="dtype"/> would actually hold.</summary>
    public static double Round(double value, DType dtype) => dtype switch
    {
        DType.F32 => (float)value,
        DType.F16 => HalfBits.F16ToSingle(HalfBits.SingleToF16((float)value)),
        _ => HalfBits.BF16ToSingle(HalfBits.SingleToBF16((float)value)),
    };

    public static double[] RandomValues(System.Random random, long count, DType dtype, double scale = 1.0) =>
        Enumerable.Range(0, (int)count).Select(_ => Round((random.NextDouble() * 2 - 1) * scale, dtype)).ToArray();

    public static float[] ToFloats(double[] values) => values.Select(v => (float)v).ToArray();

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise, naming the worst element.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, IReadOnlyList<double> expected, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Count, actual.Length);
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            double allowed = atol + rtol * Math.Abs(expected[i]);
            if (!(error <= allowed) && (worst < 0 || error - allowed > worstExcess))
            {
                worst = i;
                worstExcess = error - allowed;
            }
        }
        if (worst >= 0)
        {
            Assert.Fail($"{what}: element {worst} is {actual[worst]}, expected {expected[worst]} (rtol {rtol}, atol {atol})");
        }
    }

    /// <summary>C = op(A)·op(B) in f64 for row-major matrices.</summary>
    public static double[] MatMul(double[] a, double[] b, int m, int n, int k, bool transposeA, bool transposeB)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = transposeA ? a[p * m + i] : a[i * k + p];
                    double bv = transposeB ? b[j * k + p] : b[p * n + j];
                    sum += av * bv;
                }
                c[i * n + j] = sum;
            }
        }
        return c;
    }
}
