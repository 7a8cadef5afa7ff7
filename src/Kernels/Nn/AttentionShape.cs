namespace Dsoup.Kernels.Nn;

/// <summary>
/// Multi-head attention of queries [Batch, Queries, Channels] against keys and values
/// [Batch, Keys, Channels], Channels = Heads · HeadDim, head h in channels [h·HeadDim, (h+1)·HeadDim).
/// Scores are scaled by 1/√HeadDim. With <see cref="Causal"/> query i sees key j only where
/// j ≤ i + Keys − Queries (a mask aligned to the end, as CLIP's text encoder uses).
/// </summary>
public readonly record struct AttentionShape
{
    // The mask flag is an int: ILGPU passes only blittable structs to kernels, and bool is not one.
    private readonly int causal;

    public AttentionShape(int batch, int queries, int keys, int heads, int headDim, bool causal)
    {
        Batch = batch;
        Queries = queries;
        Keys = keys;
        Heads = heads;
        HeadDim = headDim;
        this.causal = causal ? 1 : 0;
        Scale = 1f / MathF.Sqrt(headDim);
    }

    public int Batch { get; }

    public int Queries { get; }

    public int Keys { get; }

    public int Heads { get; }

    public int HeadDim { get; }

    public bool Causal => causal != 0;

    public float Scale { get; }

    public int Channels => Heads * HeadDim;

    public long QueryCount => (long)Batch * Queries * Channels;

    public long KeyCount => (long)Batch * Keys * Channels;

    /// <summary>Rows of per-query statistics (log-sum-exp, gradient dots): one per batch, head and query, in that order.</summary>
    public long Rows => (long)Batch * Heads * Queries;

    /// <summary>Element index of head <paramref name="head"/>'s first channel in token <paramref name="token"/> of sample <paramref name="batch"/>, in a tensor of <paramref name="tokens"/> tokens.</summary>
    public long HeadRow(int batch, int tokens, int token, int head) =>
        ((long)batch * tokens + token) * Channels + (long)head * HeadDim;

    /// <summary>Keys query <paramref name="query"/> attends to: the first ones, up to this count.</summary>
    public int Visible(int query) => Causal ? Math.Max(0, Math.Min(Keys, query + 1 + Keys - Queries)) : Keys;

    /// <summary>The first query that sees key <paramref name="key"/>.</summary>
    public int FirstQuerySeeing(int key) => Causal ? Math.Max(0, key - Keys + Queries) : 0;
}
