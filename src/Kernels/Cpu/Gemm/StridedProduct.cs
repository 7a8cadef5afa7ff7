namespace Dsoup.Kernels.Cpu.Gemm;

/// <summary>
/// C = Alpha · op(A) · op(B) + Beta · C on raw host memory, with leading dimensions of its own for each
/// operand, so that blocks of a larger array (one head's channels of a [tokens, channels] tensor) are
/// multiplied in place. op(A) is M×K (stored [M, Lda] or, transposed, [K, Lda]); op(B) is K×N (stored
/// [K, Ldb] or, transposed, [N, Ldb]); C is f32 [M, Ldc].
/// </summary>
internal readonly record struct StridedProduct(
    int M, int N, int K,
    nint A, long Lda, bool TransposeA,
    nint B, long Ldb, bool TransposeB,
    nint C, long Ldc,
    float Alpha = 1f, float Beta = 0f);
