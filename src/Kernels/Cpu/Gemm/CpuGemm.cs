namespace Dsoup.Kernels.Cpu.Gemm;

/// <summary>
/// Blocked GEMM in the Goto/BLIS scheme: op(B) is packed in KC×NC panels shared by all threads,
/// op(A) in MC×KC blocks per thread, and a register-blocked <see cref="MicroKernel"/> computes
/// MR×NR tiles of C from them. Work is split over (row block × column range) so both cores stay busy
/// for tall and for wide products. f16/bf16 operands are widened while packing; the product
/// accumulates in f32 and a 16-bit C is rounded once at the end.
/// </summary>
internal static unsafe class CpuGemm
{
    /// <summary>Depth of one packed panel: an A sliver (MR×KC) and a B sliver (KC×NR) fit L1.</summary>
    public const int KC = 256;

    /// <summary>Rows of A packed per task: the A block (MC×KC) stays in L2.</summary>
    public const int MC = 192;

    /// <summary>Columns of B packed per panel: the B panel (KC×NC) stays in L3.</summary>
    public const int NC = 4096;

    /// <summary>Products below this many flops run on the calling thread alone.</summary>
    private const double ParallelFlops = 2e6;

    public static void Run(in GemmProblem p, MicroKernel kernel)
    {
        p.Validate();
        if (p.Batch == 0 || p.M == 0 || p.N == 0)
        {
            return;
        }
        int size = p.DType.Size();
        nint a = CpuMemory.Address(p.A, 0, "GEMM operand A");
        nint b = CpuMemory.Address(p.B, 0, "GEMM operand B");
        nint c = CpuMemory.Address(p.C, 0, "GEMM result C");
        long tileCount = (long)p.M * p.N;
        for (int batch = 0; batch < p.Batch; batch++)
        {
            nint ab = a + (nint)(batch * p.BatchStrideA * size);
            nint bb = b + (nint)(batch * p.BatchStrideB * size);
            nint cb = c + (nint)(batch * p.BatchStrideC * size);
            if (p.DType == DType.F32)
            {
                Multiply(p, ab, bb, (float*)cb, kernel);
                continue;
            }
            // A 16-bit C is accumulated in f32 scratch and rounded once.
            float* work = ScratchMemory.Floats(ScratchMemory.ResultTile, tileCount);
            var workSpan = new Span<float>(work, checked((int)tileCount));
            if (p.Beta != 0f)
            {
                ElementBlocks.Load(p.DType, cb, 0, workSpan);
            }
            Multiply(p, ab, bb, work, kernel);
            ElementBlocks.Store(p.DType, workSpan, cb, 0);
        }
    }

    private static void Multiply(in GemmProblem p, nint a, nint b, float* c, MicroKernel kernel)
    {
        var product = new StridedProduct(p.M, p.N, p.K, a, p.LeadingA, p.TransposeA, b, p.LeadingB, p.TransposeB,
            (nint)c, p.N, p.Alpha, p.Beta);
        switch (p.DType)
        {
            case DType.F32:
                Multiply<F32Reader, F32Reader>(product, parallel: true, kernel);
                break;
            case DType.F16:
                Multiply<F16Reader, F16Reader>(product, parallel: true, kernel);
                break;
            case DType.BF16:
                Multiply<BF16Reader, BF16Reader>(product, parallel: true, kernel);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(p), p.DType, "unknown dtype");
        }
    }

    /// <summary>
    /// One product on the calling thread, for callers that run their own parallel loop over many small
    /// ones (blocked attention). A and B are read through their own element readers; C is f32.
    /// </summary>
    public static void Serial<TReaderA, TReaderB>(in StridedProduct product, MicroKernel kernel)
        where TReaderA : struct, IElementReader
        where TReaderB : struct, IElementReader =>
        Multiply<TReaderA, TReaderB>(product, parallel: false, kernel);

    /// <summary>One product on every core, operands read in place through their leading dimensions (convolution tiles); C is f32.</summary>
    public static void OnAllCores<TReaderA, TReaderB>(in StridedProduct product, MicroKernel kernel)
        where TReaderA : struct, IElementReader
        where TReaderB : struct, IElementReader =>
        Multiply<TReaderA, TReaderB>(product, parallel: true, kernel);

    private static void Multiply<TReaderA, TReaderB>(StridedProduct x, bool parallel, MicroKernel kernel)
        where TReaderA : struct, IElementReader
        where TReaderB : struct, IElementReader
    {
        int m = x.M, n = x.N, k = x.K;
        long ldc = x.Ldc;
        float* c = (float*)x.C;
        float beta = x.Beta;
        if (m == 0 || n == 0)
        {
            return;
        }
        if (k == 0)
        {
            ScaleInPlace(c, m, n, ldc, beta);
            return;
        }
        int mr = kernel.MR, nr = kernel.NR;
        int ncMax = (Math.Min(NC, n) + nr - 1) / nr * nr;
        float* packedB = ScratchMemory.Floats(ScratchMemory.PackedB, (long)KC * ncMax);
        nint packedBAddress = (nint)packedB;
        int threads = Environment.ProcessorCount;
        parallel = parallel && threads > 1 && 2.0 * m * n * k >= ParallelFlops;
        (int rowBlocks, int mc) = RowBlocks(m, mr, parallel ? threads : 1);
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int slivers = (nc + nr - 1) / nr;
            // When there are fewer row blocks than threads, the threads split the columns instead.
            int columnParts = parallel ? Math.Clamp(threads / rowBlocks, 1, slivers) : 1;
            int packParts = parallel ? Math.Min(threads, slivers) : 1;
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                float betaPanel = pc == 0 ? beta : 1f;
                int jcLocal = jc, pcLocal = pc;
                ForEach(packParts, parallel, part =>
                {
                    (int s0, int s1) = Split(slivers, packParts, part);
                    GemmPacking.PackB<TReaderB>(x.B, x.Ldb, x.TransposeB, jcLocal, nc, pcLocal, kc, nr,
                        (float*)packedBAddress, s0, s1);
                });
                ForEach(rowBlocks * columnParts, parallel, task =>
                {
                    int ic = task / columnParts * mc;
                    (int s0, int s1) = Split(slivers, columnParts, task % columnParts);
                    int rows = Math.Min(mc, m - ic);
                    float* packedA = ScratchMemory.Floats(ScratchMemory.PackedA, (long)mc * kc);
                    GemmPacking.PackA<TReaderA>(x.A, x.Lda, x.TransposeA, ic, rows, pcLocal, kc, mr, packedA);
                    RunTiles(kernel, packedA, (float*)packedBAddress, c + (long)ic * ldc + jcLocal, ldc,
                        rows, nc, kc, s0, s1, x.Alpha, betaPanel);
                });
            }
        }
    }

    /// <summary>
    /// Splits M rows into blocks of at most <see cref="MC"/> rows (a multiple of MR), their count a
    /// multiple of <paramref name="threads"/> where possible, so every thread gets an equal share.
    /// </summary>
    private static (int Count, int Rows) RowBlocks(int m, int mr, int threads)
    {
        int mcMax = MC / mr * mr;
        int count = (m + mcMax - 1) / mcMax;
        int balanced = (count + threads - 1) / threads * threads;
        int rows = ((m + balanced - 1) / balanced + mr - 1) / mr * mr;
        rows = Math.Clamp(rows, mr, mcMax);
        return ((m + rows - 1) / rows, rows);
    }

    /// <summary>Runs the micro-kernel over every tile of one packed A block and B slivers [s0, s1).</summary>
    private static void RunTiles(MicroKernel kernel, float* packedA, float* packedB, float* c, long ldc,
        int rows, int cols, int kc, int s0, int s1, float alpha, float beta)
    {
        int mr = kernel.MR, nr = kernel.NR;
        float* scratch = stackalloc float[mr * nr];
        for (int s = s0; s < s1; s++)
        {
            int jr = s * nr;
            int tileCols = Math.Min(nr, cols - jr);
            float* bSliver = packedB + (long)jr * kc;
            for (int ir = 0; ir < rows; ir += mr)
            {
                int tileRows = Math.Min(mr, rows - ir);
                float* aSliver = packedA + (long)ir * kc;
                float* cTile = c + (long)ir * ldc + jr;
                if (tileRows == mr && tileCols == nr)
                {
                    kernel.Run(kc, aSliver, bSliver, cTile, ldc, alpha, beta);
                    continue;
                }
                kernel.Run(kc, aSliver, bSliver, scratch, nr, 1f, 0f);
                for (int r = 0; r < tileRows; r++)
                {
                    for (int j = 0; j < tileCols; j++)
                    {
                        float v = alpha * scratch[r * nr + j];
                        float* dst = cTile + (long)r * ldc + j;
                        *dst = beta != 0f ? v + beta * *dst : v;
                    }
                }
            }
        }
    }

    private static void ScaleInPlace(float* c, int m, int n, long ldc, float beta)
    {
        for (int r = 0; r < m; r++)
        {
            var row = new Span<float>(c + r * ldc, n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    private static (int Start, int End) Split(int count, int parts, int part) =>
        ((int)((long)count * part / parts), (int)((long)count * (part + 1) / parts));

    private static void ForEach(int count, bool parallel, Action<int> body)
    {
        if (parallel && count > 1)
        {
            Parallel.For(0, count, body);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            body(i);
        }
    }
}
