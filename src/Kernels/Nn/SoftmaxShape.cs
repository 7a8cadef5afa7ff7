namespace Dsoup.Kernels.Nn;

/// <summary>
/// Softmax over each of <see cref="Rows"/> contiguous rows of <see cref="Columns"/> values. With
/// <see cref="CausalQueries"/> = Q &gt; 0 the rows are attention scores of Q queries against the
/// columns as keys (row r is query r mod Q), and query i sees key j only where j ≤ i + Columns − Q;
/// masked entries come out as exactly 0.
/// </summary>
public readonly record struct SoftmaxShape(long Rows, int Columns, int CausalQueries = 0)
{
    public long Count => Rows * Columns;

    /// <summary>Keys row <paramref name="row"/> may attend to: the first ones, up to this count.</summary>
    public int Visible(long row) =>
        CausalQueries <= 0 ? Columns : Math.Min(Columns, (int)(row % CausalQueries) + 1 + Columns - CausalQueries);
}
