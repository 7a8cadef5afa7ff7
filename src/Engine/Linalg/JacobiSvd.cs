using System.Numerics;

namespace Dsoup.Engine.Linalg;

/// <summary>A = U·diag(S)·Vᵀ with singular values in decreasing order; U is m×k, V is n×k, k = min(m, n).</summary>
public sealed record SingularValueDecomposition(Matrix U, double[] S, Matrix V);

/// <summary>
/// SVD by one-sided Jacobi rotations (Hestenes): columns are rotated pairwise until all are orthogonal;
/// their norms are then the singular values. Slow for large matrices but accurate to high relative
/// precision, and simple enough to trust; the callers reduce big problems to small ones first (QR).
/// </summary>
public static class JacobiSvd
{
    private const int MaxSweeps = 60;

    public static SingularValueDecomposition Decompose(Matrix a)
    {
        if (a.Rows < a.Columns)
        {
            var transposed = Decompose(a.Transpose());
            return new SingularValueDecomposition(transposed.V, transposed.S, transposed.U);
        }
        int m = a.Rows, n = a.Columns;
        // Work on columns: store Aᵀ so that each column of A is a contiguous row.
        Matrix columns = a.Transpose();
        // Vᵀ, so that rotating two columns of V rotates two contiguous rows.
        var vt = new Matrix(n, n);
        for (int i = 0; i < n; i++)
        {
            vt[i, i] = 1;
        }
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    rotated |= Orthogonalise(columns.Row(p), columns.Row(q), vt.Row(p), vt.Row(q));
                }
            }
            if (!rotated)
            {
                break;
            }
        }
        var norms = new double[n];
        for (int j = 0; j < n; j++)
        {
            norms[j] = Math.Sqrt(Dot(columns.Row(j), columns.Row(j)));
        }
        int[] order = Enumerable.Range(0, n).OrderByDescending(j => norms[j]).ThenBy(j => j).ToArray();
        var u = new Matrix(m, n);
        var vSorted = new Matrix(n, n);
        var s = new double[n];
        for (int k = 0; k < n; k++)
        {
            int j = order[k];
            s[k] = norms[j];
            for (int i = 0; i < m; i++)
            {
                u[i, k] = norms[j] == 0 ? 0 : columns[j, i] / norms[j];
            }
            for (int i = 0; i < n; i++)
            {
                vSorted[i, k] = vt[j, i];
            }
        }
        CompleteBasis(u, s);
        return new SingularValueDecomposition(u, s, vSorted);
    }

    /// <summary>Rotates columns p and q to be orthogonal; false when they already are (to working precision).</summary>
    private static bool Orthogonalise(Span<double> x, Span<double> y, Span<double> vp, Span<double> vq)
    {
        double alpha = Dot(x, x), beta = Dot(y, y), gamma = Dot(x, y);
        if (gamma == 0 || Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta))
        {
            return false;
        }
        double zeta = (beta - alpha) / (2 * gamma);
        double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
        double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
        Rotate(x, y, c, s);
        Rotate(vp, vq, c, s);
        return true;
    }

    /// <summary>(x, y) ← (c·x − s·y, s·x + c·y), element by element.</summary>
    private static void Rotate(Span<double> x, Span<double> y, double c, double s)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<double>(c);
            var vs = new Vector<double>(s);
            for (; i + Vector<double>.Count <= x.Length; i += Vector<double>.Count)
            {
                var a = new Vector<double>(x[i..]);
                var b = new Vector<double>(y[i..]);
                (vc * a - vs * b).CopyTo(x[i..]);
                (vs * a + vc * b).CopyTo(y[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            double a = x[i], b = y[i];
            x[i] = c * a - s * b;
            y[i] = s * a + c * b;
        }
    }

    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => System.Numerics.Tensors.TensorPrimitives.Dot(x, y);

    /// <summary>
    /// Columns of U for zero singular values are left zero by the rotation; fill them with unit vectors
    /// orthogonal to the others (Gram–Schmidt against the identity), so U always has orthonormal columns.
    /// </summary>
    private static void CompleteBasis(Matrix u, double[] s)
    {
        int m = u.Rows;
        int candidate = 0;
        for (int k = 0; k < s.Length; k++)
        {
            if (s[k] != 0)
            {
                continue;
            }
            while (candidate < m)
            {
                var e = new double[m];
                e[candidate++] = 1;
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int j = 0; j < u.Columns; j++)
                    {
                        if (j == k || (s[j] == 0 && j > k))
                        {
                            continue;
                        }
                        double dot = 0;
                        for (int i = 0; i < m; i++)
                        {
                            dot += u[i, j] * e[i];
                        }
                        for (int i = 0; i < m; i++)
                        {
                            e[i] -= dot * u[i, j];
                        }
                    }
                }
                double norm = Math.Sqrt(e.Sum(x => x * x));
                if (norm > 0.5)
                {
                    for (int i = 0; i < m; i++)
                    {
                        u[i, k] = e[i] / norm;
                    }
                    break;
                }
            }
        }
    }
}
