using Dsoup.Engine.Linalg;

namespace Dsoup.Engine.Tests;

/// <summary>QR and SVD against their defining identities and against matrices built with known singular values.</summary>
public class LinalgTests
{
    [Theory]
    [InlineData(7, 4)]
    [InlineData(4, 7)]
    [InlineData(5, 5)]
    [InlineData(1, 3)]
    public void QrReconstructsWithOrthonormalQ(int rows, int columns)
    {
        Matrix a = RandomMatrix(rows, columns, seed: rows * 10 + columns);
        (Matrix q, Matrix r) = ThinQr.Decompose(a);
        AssertClose(a, q.Multiply(r), 1e-13);
        AssertOrthonormalColumns(q);
        for (int i = 0; i < r.Rows; i++)
        {
            for (int j = 0; j < Math.Min(i, r.Columns); j++)
            {
                Assert.Equal(0.0, r[i, j]);
            }
        }
    }

    [Fact]
    public void QrOfRankDeficientMatrixStillReconstructs()
    {
        Matrix a = RandomMatrix(6, 1, 3).Multiply(RandomMatrix(1, 4, 4)); // rank 1
        (Matrix q, Matrix r) = ThinQr.Decompose(a);
        AssertClose(a, q.Multiply(r), 1e-13);
    }

    [Theory]
    [InlineData(8, 5)]
    [InlineData(5, 8)]
    [InlineData(6, 6)]
    public void SvdRecoversKnownSingularValues(int rows, int columns)
    {
        int k = Math.Min(rows, columns);
        double[] expected = Enumerable.Range(0, k).Select(i => Math.Pow(2, -i) * 3).ToArray();
        expected[^1] = 0; // one exact zero: rank k − 1
        Matrix u = ThinQr.Decompose(RandomMatrix(rows, k, 11)).Q;
        Matrix v = ThinQr.Decompose(RandomMatrix(columns, k, 12)).Q;
        var sigma = new Matrix(k, k);
        for (int i = 0; i < k; i++)
        {
            sigma[i, i] = expected[i];
        }
        Matrix a = u.Multiply(sigma).Multiply(v.Transpose());

        SingularValueDecomposition svd = JacobiSvd.Decompose(a);
        for (int i = 0; i < k; i++)
        {
            Assert.True(Math.Abs(expected[i] - svd.S[i]) <= 1e-13, $"σ{i}: expected {expected[i]}, got {svd.S[i]}");
        }
        var s = new Matrix(k, k);
        for (int i = 0; i < k; i++)
        {
            s[i, i] = svd.S[i];
        }
        AssertClose(a, svd.U.Multiply(s).Multiply(svd.V.Transpose()), 1e-13);
        AssertOrthonormalColumns(svd.U);
        AssertOrthonormalColumns(svd.V);
    }

    [Fact]
    public void FrobeniusNormIsTheRootOfSquaredSingularValues()
    {
        Matrix a = RandomMatrix(9, 4, 21);
        double[] s = JacobiSvd.Decompose(a).S;
        Assert.Equal(a.SquaredNorm(), s.Sum(x => x * x), 12);
        Assert.True(s.Zip(s.Skip(1)).All(p => p.First >= p.Second));
    }

    internal static Matrix RandomMatrix(int rows, int columns, int seed)
    {
        var random = new System.Random(seed);
        var m = new Matrix(rows, columns);
        for (int i = 0; i < m.Values.Length; i++)
        {
            m.Values[i] = random.NextDouble() * 2 - 1;
        }
        return m;
    }

    private static void AssertClose(Matrix expected, Matrix actual, double tolerance)
    {
        Assert.Equal(expected.Rows, actual.Rows);
        Assert.Equal(expected.Columns, actual.Columns);
        for (int i = 0; i < expected.Values.Length; i++)
        {
            Assert.True(Math.Abs(expected.Values[i] - actual.Values[i]) <= tolerance, $"element {i}: {expected.Values[i]} vs {actual.Values[i]}");
        }
    }

    private static void AssertOrthonormalColumns(Matrix q)
    {
        Matrix gram = q.Transpose().Multiply(q);
        for (int i = 0; i < gram.Rows; i++)
        {
            for (int j = 0; j < gram.Columns; j++)
            {
                Assert.True(Math.Abs(gram[i, j] - (i == j ? 1 : 0)) <= 1e-13, $"QᵀQ[{i},{j}] = {gram[i, j]}");
            }
        }
    }
}
