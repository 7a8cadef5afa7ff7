namespace Dsoup.Kernels.Cpu.Gemm;

/// <summary>
/// Copies blocks of op(A) and op(B) into the layouts the micro-kernel streams through:
/// A as slivers of MR rows ([k][MR] per sliver), B as slivers of NR columns ([k][NR] per sliver),
/// both zero-padded to whole slivers and widened to f32.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Packs op(A)[row0 .. row0+mc, k0 .. k0+kc) into <paramref name="packed"/>.</summary>
    public static void PackA<TReader>(nint a, long lda, bool transposed, int row0, int mc, int k0, int kc,
        int mr, float* packed)
        where TReader : struct, IElementReader
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* dst = packed + (long)ir * kc;
            if (transposed)
            {
                // Stored [K, M]: each k holds the sliver's rows contiguously.
                for (int k = 0; k < kc; k++)
                {
                    long src = (long)(k0 + k) * lda + row0 + ir;
                    var run = new Span<float>(dst + (long)k * mr, mr);
                    TReader.ReadRun(a, src, run[..rows]);
                    run[rows..].Clear();
                }
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    long src = (long)(row0 + ir + r) * lda + k0;
                    for (int k = 0; k < kc; k++)
                    {
                        dst[(long)k * mr + r] = TReader.Read(a, src + k);
                    }
                }
                for (int r = rows; r < mr; r++)
                {
                    for (int k = 0; k < kc; k++)
                    {
                        dst[(long)k * mr + r] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>Packs the slivers [sliver0, sliver1) of op(B)[k0 .. k0+kc, col0 .. col0+nc).</summary>
    public static void PackB<TReader>(nint b, long ldb, bool transposed, int col0, int nc, int k0, int kc,
        int nr, float* packed, int sliver0, int sliver1)
        where TReader : struct, IElementReader
    {
        for (int s = sliver0; s < sliver1; s++)
        {
            int jr = s * nr;
            int cols = Math.Min(nr, nc - jr);
            float* dst = packed + (long)jr * kc;
            if (!transposed)
            {
                // Stored [K, N]: each k holds the sliver's columns contiguously.
                for (int k = 0; k < kc; k++)
                {
                    long src = (long)(k0 + k) * ldb + col0 + jr;
                    var run = new Span<float>(dst + (long)k * nr, nr);
                    TReader.ReadRun(b, src, run[..cols]);
                    run[cols..].Clear();
                }
            }
            else
            {
                for (int j = 0; j < cols; j++)
                {
                    long src = (long)(col0 + jr + j) * ldb + k0;
                    for (int k = 0; k < kc; k++)
                    {
                        dst[(long)k * nr + j] = TReader.Read(b, src + k);
                    }
                }
                for (int j = cols; j < nr; j++)
                {
                    for (int k = 0; k < kc; k++)
                    {
                        dst[(long)k * nr + j] = 0f;
                    }
                }
            }
        }
    }
}
