using Dsoup.Engine.Linalg;

namespace Dsoup.Models.Evaluation;

/// <summary>
/// The Fréchet distance between Gaussians fitted to two sets of feature vectors (as FID does with Inception
/// features): ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½. Square roots of the symmetric PSD matrices come
/// from their SVD (equal to the eigendecomposition there), in float64.
/// </summary>
public static class FrechetDistance
{
    public static double Between(IReadOnlyList<float[]> first, IReadOnlyList<float[]> second)
    {
        if (first.Count < 2 || second.Count < 2)
        {
            throw new ArgumentException($"the Fréchet distance needs at least two feature vectors on each side; got {first.Count} and {second.Count}");
        }
        int d = first[0].Length;
        if (first.Concat(second).Any(f => f.Length != d))
        {
            throw new ArgumentException("every feature vector must have the same length");
        }
        (double[] mean1, Matrix cov1) = Moments(first, d);
        (double[] mean2, Matrix cov2) = Moments(second, d);
        double meanDistance = 0, traces = 0;
        for (int i = 0; i < d; i++)
        {
            meanDistance += (mean1[i] - mean2[i]) * (mean1[i] - mean2[i]);
            traces += cov1[i, i] + cov2[i, i];
        }
        Matrix root1 = SquareRoot(cov1);
        Matrix product = root1.Multiply(cov2).Multiply(root1);
        double crossTrace = JacobiSvd.Decompose(product).S.Sum(s => Math.Sqrt(Math.Max(s, 0)));
        return Math.Max(0, meanDistance + traces - 2 * crossTrace);
    }

    /// <summary>The mean and the unbiased covariance of the vectors.</summary>
    private static (double[] Mean, Matrix Covariance) Moments(IReadOnlyList<float[]> vectors, int d)
    {
        var mean = new double[d];
        foreach (float[] v in vectors)
        {
            for (int i = 0; i < d; i++)
            {
                mean[i] += v[i];
            }
        }
        for (int i = 0; i < d; i++)
        {
            mean[i] /= vectors.Count;
        }
        var covariance = new Matrix(d, d);
        foreach (float[] v in vectors)
        {
            for (int i = 0; i < d; i++)
            {
                double a = v[i] - mean[i];
                for (int j = 0; j < d; j++)
                {
                    covariance[i, j] += a * (v[j] - mean[j]);
                }
            }
        }
        covariance.ScaleInPlace(1.0 / (vectors.Count - 1));
        return (mean, covariance);
    }

    /// <summary>A^½ = U·diag(√s)·Uᵀ for symmetric positive semi-definite A.</summary>
    private static Matrix SquareRoot(Matrix a)
    {
        SingularValueDecomposition svd = JacobiSvd.Decompose(a);
        int n = a.Rows;
        var root = new Matrix(n, n);
        for (int k = 0; k < svd.S.Length; k++)
        {
            double s = Math.Sqrt(Math.Max(svd.S[k], 0));
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    root[i, j] += svd.U[i, k] * s * svd.U[j, k];
                }
            }
        }
        return root;
    }
}
