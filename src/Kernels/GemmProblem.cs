namespace Dsoup.Kernels;

/// <summary>
/// C[b] = Alpha · op(A[b]) · op(B[b]) + Beta · C[b] for b in [0, Batch), all row-major and dense.
/// op(A) is M×K: A is stored [M,K], or [K,M] when <see cref="TransposeA"/>.
/// op(B) is K×N: B is stored [K,N], or [N,K] when <see cref="TransposeB"/>.
/// Batch strides are in elements; a stride of 0 shares one matrix across the batch.
/// A, B and C share <see cref="DType"/>; products accumulate in f32 whatever it is.
/// When Beta is 0, C is not read (it may hold garbage).
/// </summary>
public readonly record struct GemmProblem(
    int Batch, int M, int N, int K,
    bool TransposeA, bool TransposeB,
    DType DType,
    BufferView A, long BatchStrideA,
    BufferView B, long BatchStrideB,
    BufferView C, long BatchStrideC,
    float Alpha = 1f, float Beta = 0f)
{
    public long LeadingA => TransposeA ? M : K;

    public long LeadingB => TransposeB ? K : N;

    public double Flops => 2.0 * Batch * M * N * K;

    /// <summary>Elements from the start of A to the end of the last batch's matrix.</summary>
    public long SpanA => (Batch - 1) * BatchStrideA + (long)M * K;

    public long SpanB => (Batch - 1) * BatchStrideB + (long)K * N;

    public long SpanC => (Batch - 1) * BatchStrideC + (long)M * N;

    /// <summary>Checks sizes and that every batch's matrices lie inside their buffers.</summary>
    public void Validate()
    {
        if (Batch < 0 || M < 0 || N < 0 || K < 0)
        {
            throw new ArgumentException($"GEMM sizes must be non-negative: batch {Batch}, M {M}, N {N}, K {K}");
        }
        if (Batch == 0 || M == 0 || N == 0)
        {
            return;
        }
        int size = DType.Size();
        A.EnsureSpan(SpanA * size, "GEMM operand A");
        B.EnsureSpan(SpanB * size, "GEMM operand B");
        C.EnsureSpan(SpanC * size, "GEMM result C");
    }
}
