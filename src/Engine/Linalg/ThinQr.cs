using System.Numerics.Tensors;

namespace Dsoup.Engine.Linalg;

/// <summary>
/// Thin QR of an m×n matrix by Householder reflections: A = Q·R with Q m×k orthonormal columns and R k×n
/// upper trapezoidal, k = min(m, n). Backward stable, unlike Gram–Schmidt, which matters when LoRA
/// factors are nearly rank-deficient.
/// </summary>
public static class ThinQr
{
    public static (Matrix Q, Matrix R) Decompose(Matrix a)
    {
        int m = a.Rows, n = a.Columns, k = Math.Min(m, n);
        var work = new Matrix(m, n, (double[])a.Values.Clone());
        var reflectors = new double[k][];
        for (int j = 0; j < k; j++)
        {
            // v = x + sign(x₀)‖x‖e₀ over rows j.., normalised; H = I − 2vvᵀ zeroes column j below the diagonal.
            var v = new double[m - j];
            double norm = 0;
            for (int i = j; i < m; i++)
            {
                v[i - j] = work[i, j];
                norm += v[i - j] * v[i - j];
            }
            norm = Math.Sqrt(norm);
            if (norm == 0)
            {
                reflectors[j] = v; // all zero: H is the identity
                continue;
            }
            v[0] += v[0] >= 0 ? norm : -norm;
            double vNorm = Math.Sqrt(v.Sum(x => x * x));
            for (int i = 0; i < v.Length; i++)
            {
                v[i] /= vNorm;
            }
            reflectors[j] = v;
            Reflect(work, v, j, j, n);
        }
        var r = new Matrix(k, n);
        for (int i = 0; i < k; i++)
        {
            for (int j = i; j < n; j++)
            {
                r[i, j] = work[i, j];
            }
        }
        // Q = H₀·H₁·…·H_{k−1} applied to the first k columns of the identity, last reflector first.
        var q = new Matrix(m, k);
        for (int i = 0; i < k; i++)
        {
            q[i, i] = 1;
        }
        for (int j = k - 1; j >= 0; j--)
        {
            Reflect(q, reflectors[j], j, 0, k);
        }
        return (q, r);
    }

    /// <summary>
    /// Applies H = I − 2vvᵀ (v acting on rows from <paramref name="firstRow"/>) to columns [firstColumn, endColumn):
    /// w = vᵀT, then T −= 2v·w, both row by row so every inner loop runs along a contiguous, vectorised row.
    /// </summary>
    private static void Reflect(Matrix target, double[] v, int firstRow, int firstColumn, int endColumn)
    {
        int width = endColumn - firstColumn;
        var w = new double[width];
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] != 0)
            {
                Span<double> row = target.Row(firstRow + i).Slice(firstColumn, width);
                TensorPrimitives.MultiplyAdd(row, v[i], w, w);
            }
        }
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] != 0)
            {
                Span<double> row = target.Row(firstRow + i).Slice(firstColumn, width);
                TensorPrimitives.MultiplyAdd(w, -2 * v[i], row, row);
            }
        }
    }
}
