namespace Dsoup.Engine.Linalg;

/// <summary>
/// A small dense float64 matrix, row-major. For the host-side linear algebra of merging (LoRA
/// factors, their QR and SVD), where sizes are ranks and layer widths, not whole models.
/// </summary>
public sealed class Matrix
{
    public Matrix(int rows, int columns, double[]? values = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (values is not null && values.Length != (long)rows * columns)
        {
            throw new ArgumentException($"a {rows}×{columns} matrix needs {(long)rows * columns} values, got {values.Length}");
        }
        Rows = rows;
        Columns = columns;
        Values = values ?? new double[rows * columns];
    }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>Row-major storage: element (i, j) is at i · Columns + j.</summary>
    public double[] Values { get; }

    public double this[int row, int column]
    {
        get => Values[row * Columns + column];
        set => Values[row * Columns + column] = value;
    }

    public Span<double> Row(int row) => Values.AsSpan(row * Columns, Columns);

    public Matrix Transpose()
    {
        var t = new Matrix(Columns, Rows);
        for (int i = 0; i < Rows; i++)
        {
            for (int j = 0; j < Columns; j++)
            {
                t[j, i] = this[i, j];
            }
        }
        return t;
    }

    /// <summary>this · other, accumulated row by row (i-k-j order, so the inner loop is a contiguous, vectorised row update).</summary>
    public Matrix Multiply(Matrix other)
    {
        if (Columns != other.Rows)
        {
            throw new ArgumentException($"cannot multiply a {Rows}×{Columns} matrix by a {other.Rows}×{other.Columns} one");
        }
        var product = new Matrix(Rows, other.Columns);
        for (int i = 0; i < Rows; i++)
        {
            Span<double> target = product.Row(i);
            for (int k = 0; k < Columns; k++)
            {
                double a = this[i, k];
                if (a == 0)
                {
                    continue;
                }
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(other.Row(k), a, target, target);
            }
        }
        return product;
    }

    /// <summary>Multiplies every element by <paramref name="factor"/> in place; returns this matrix.</summary>
    public Matrix ScaleInPlace(double factor)
    {
        for (int i = 0; i < Values.Length; i++)
        {
            Values[i] *= factor;
        }
        return this;
    }

    /// <summary>The sum of squares of all elements (the squared Frobenius norm).</summary>
    public double SquaredNorm()
    {
        double sum = 0;
        foreach (double v in Values)
        {
            sum += v * v;
        }
        return sum;
    }
}
