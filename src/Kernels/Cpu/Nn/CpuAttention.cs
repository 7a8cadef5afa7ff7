using System.Buffers;
using System.Numerics.Tensors;
using Dsoup.Kernels.Cpu.Gemm;
using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Cpu.Nn;

/// <summary>
/// Blocked multi-head attention on the host. Forward: per batch, head and block of queries, the scores
/// against one block of keys at a time (GEMMs reading the head's channels in place), folded into the
/// output with an online softmax, so memory stays a few blocks whatever the token count. Backward: per
/// batch and head, the probabilities are recomputed block by block from the saved log-sum-exp (the
/// FlashAttention scheme); every sum runs in a fixed order, so results do not change from run to run.
/// </summary>
internal static unsafe class CpuAttention
{
    /// <summary>Queries per block: the rows of one score block.</summary>
    public const int QueryBlock = 128;

    /// <summary>Keys per block: a 128 × 256 f32 score block is 128 KiB and stays in L2.</summary>
    public const int KeyBlock = 256;

    public static void Forward(DType dtype, nint q, nint k, nint v, nint result, nint logSumExp, AttentionShape shape, MicroKernel kernel)
    {
        switch (dtype)
        {
            case DType.F32:
                Forward<F32Reader>(dtype, q, k, v, result, logSumExp, shape, kernel);
                break;
            case DType.F16:
                Forward<F16Reader>(dtype, q, k, v, result, logSumExp, shape, kernel);
                break;
            case DType.BF16:
                Forward<BF16Reader>(dtype, q, k, v, result, logSumExp, shape, kernel);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype");
        }
    }

    public static void Backward(DType dtype, nint q, nint k, nint v, nint result, nint logSumExp, nint gradResult,
        nint gradQ, nint gradK, nint gradV, nint rowDots, AttentionShape shape, MicroKernel kernel)
    {
        var operands = new BackwardOperands(q, k, v, result, logSumExp, gradResult, gradQ, gradK, gradV, rowDots);
        switch (dtype)
        {
            case DType.F32:
                Backward<F32Reader>(dtype, operands, shape, kernel);
                break;
            case DType.F16:
                Backward<F16Reader>(dtype, operands, shape, kernel);
                break;
            case DType.BF16:
                Backward<BF16Reader>(dtype, operands, shape, kernel);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype");
        }
    }

    private readonly record struct BackwardOperands(nint Q, nint K, nint V, nint Result, nint LogSumExp, nint GradResult,
        nint GradQ, nint GradK, nint GradV, nint RowDots);

    private static nint At(nint data, long element, int size) => data + (nint)(element * size);

    private static void Forward<TReader>(DType dtype, nint q, nint k, nint v, nint result, nint logSumExp, AttentionShape s, MicroKernel kernel)
        where TReader : struct, IElementReader
    {
        int d = s.HeadDim, channels = s.Channels, size = dtype.Size();
        int queryBlocks = (s.Queries + QueryBlock - 1) / QueryBlock;
        CpuParallel.For((long)s.Batch * s.Heads * queryBlocks, 1, (t0, t1) =>
        {
            float[] buffer = ArrayPool<float>.Shared.Rent(QueryBlock * KeyBlock + QueryBlock * d + 3 * QueryBlock + d);
            try
            {
                fixed (float* scratch = buffer)
                {
                    for (long task = t0; task < t1; task++)
                    {
                        int block = (int)(task % queryBlocks);
                        long headIndex = task / queryBlocks;
                        int head = (int)(headIndex % s.Heads), batch = (int)(headIndex / s.Heads);
                        int i0 = block * QueryBlock, rows = Math.Min(QueryBlock, s.Queries - i0);
                        // The output block is held transposed, [d, QueryBlock]: its GEMM then has the head width as M,
                        // which the micro-kernel's row count divides for SD's heads (40, 64, 80, 160), where as N it would not.
                        float* scores = scratch, outputT = scores + QueryBlock * KeyBlock;
                        float* max = outputT + QueryBlock * d, sum = max + QueryBlock, correction = sum + QueryBlock, row = correction + QueryBlock;
                        new Span<float>(outputT, QueryBlock * d).Clear();
                        new Span<float>(max, rows).Fill(float.NegativeInfinity);
                        new Span<float>(sum, rows).Clear();
                        nint queries = At(q, s.HeadRow(batch, s.Queries, i0, head), size);
                        int keys = s.Visible(i0 + rows - 1);
                        for (int j0 = 0; j0 < keys; j0 += KeyBlock)
                        {
                            int cols = Math.Min(KeyBlock, keys - j0);
                            long keyRow = s.HeadRow(batch, s.Keys, j0, head);
                            // The block is held densely ([rows, cols]), so one exponential call covers all of it.
                            CpuGemm.Serial<TReader, TReader>(new StridedProduct(rows, cols, d,
                                queries, channels, false, At(k, keyRow, size), channels, true, (nint)scores, cols, s.Scale), kernel);
                            for (int r = 0; r < rows; r++)
                            {
                                var scoreRow = new Span<float>(scores + r * cols, cols);
                                int seen = Math.Clamp(s.Visible(i0 + r) - j0, 0, cols);
                                scoreRow[seen..].Fill(float.NegativeInfinity);
                                correction[r] = 1f;
                                if (seen == 0)
                                {
                                    continue;
                                }
                                Span<float> visible = scoreRow[..seen];
                                float newMax = Math.Max(max[r], TensorPrimitives.Max<float>(visible));
                                correction[r] = MathF.Exp(max[r] - newMax);
                                TensorPrimitives.Subtract(visible, newMax, visible);
                                max[r] = newMax;
                            }
                            var scoreBlock = new Span<float>(scores, rows * cols);
                            TensorPrimitives.Exp(scoreBlock, scoreBlock);
                            for (int r = 0; r < rows; r++)
                            {
                                sum[r] = sum[r] * correction[r] + TensorPrimitives.Sum<float>(new ReadOnlySpan<float>(scores + r * cols, cols));
                            }
                            // Rescale what earlier key blocks added (nothing yet on the first one).
                            var corrections = new ReadOnlySpan<float>(correction, rows);
                            for (int c = 0; c < d && j0 > 0; c++)
                            {
                                var outputColumn = new Span<float>(outputT + c * QueryBlock, rows);
                                TensorPrimitives.Multiply(outputColumn, corrections, outputColumn);
                            }
                            // outputᵀ += vᵀ · pᵀ
                            CpuGemm.Serial<TReader, F32Reader>(new StridedProduct(d, rows, cols,
                                At(v, keyRow, size), channels, true, (nint)scores, cols, true, (nint)outputT, QueryBlock, 1f, 1f), kernel);
                        }
                        var outputRow = new Span<float>(row, d);
                        for (int r = 0; r < rows; r++)
                        {
                            float inverse = 1f / sum[r];
                            for (int c = 0; c < d; c++)
                            {
                                outputRow[c] = outputT[c * QueryBlock + r] * inverse;
                            }
                            ElementBlocks.Store(dtype, outputRow, result, s.HeadRow(batch, s.Queries, i0 + r, head));
                            ((float*)logSumExp)[headIndex * s.Queries + i0 + r] = max[r] + MathF.Log(sum[r]);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        });
    }

    private static void Backward<TReader>(DType dtype, BackwardOperands x, AttentionShape s, MicroKernel kernel)
        where TReader : struct, IElementReader
    {
        int d = s.HeadDim, channels = s.Channels, size = dtype.Size();
        int block = QueryBlock * KeyBlock;
        CpuParallel.For((long)s.Batch * s.Heads, 1, (t0, t1) =>
        {
            float[] buffer = ArrayPool<float>.Shared.Rent(2 * block + (s.Queries + 2 * KeyBlock + 2) * d);
            try
            {
                fixed (float* scratch = buffer)
                {
                    for (long headIndex = t0; headIndex < t1; headIndex++)
                    {
                        int head = (int)(headIndex % s.Heads), batch = (int)(headIndex / s.Heads);
                        float* probabilities = scratch, gradScores = scratch + block;
                        float* gradQueries = gradScores + block, gradKeys = gradQueries + (long)s.Queries * d;
                        float* gradValues = gradKeys + KeyBlock * d, rowA = gradValues + KeyBlock * d, rowB = rowA + d;
                        float* lse = (float*)x.LogSumExp + headIndex * s.Queries, dots = (float*)x.RowDots + headIndex * s.Queries;
                        var output = new Span<float>(rowA, d);
                        var gradOutput = new Span<float>(rowB, d);
                        for (int i = 0; i < s.Queries; i++)
                        {
                            long row = s.HeadRow(batch, s.Queries, i, head);
                            ElementBlocks.Load(dtype, x.Result, row, output);
                            ElementBlocks.Load(dtype, x.GradResult, row, gradOutput);
                            dots[i] = TensorPrimitives.Dot<float>(output, gradOutput);
                        }
                        new Span<float>(gradQueries, s.Queries * d).Clear();
                        for (int j0 = 0; j0 < s.Keys; j0 += KeyBlock)
                        {
                            int cols = Math.Min(KeyBlock, s.Keys - j0);
                            long keyRow = s.HeadRow(batch, s.Keys, j0, head);
                            nint keys = At(x.K, keyRow, size), values = At(x.V, keyRow, size);
                            new Span<float>(gradKeys, cols * d).Clear();
                            new Span<float>(gradValues, cols * d).Clear();
                            for (int i0 = s.FirstQuerySeeing(j0) / QueryBlock * QueryBlock; i0 < s.Queries; i0 += QueryBlock)
                            {
                                int rows = Math.Min(QueryBlock, s.Queries - i0);
                                long queryRow = s.HeadRow(batch, s.Queries, i0, head);
                                nint queries = At(x.Q, queryRow, size), gradResults = At(x.GradResult, queryRow, size);
                                // P = exp(scale·q·kᵀ − lse), the forward's probabilities, masked entries 0; blocks held densely ([rows, cols]).
                                CpuGemm.Serial<TReader, TReader>(new StridedProduct(rows, cols, d,
                                    queries, channels, false, keys, channels, true, (nint)probabilities, cols, s.Scale), kernel);
                                for (int r = 0; r < rows; r++)
                                {
                                    var row = new Span<float>(probabilities + r * cols, cols);
                                    int seen = Math.Clamp(s.Visible(i0 + r) - j0, 0, cols);
                                    TensorPrimitives.Subtract(row[..seen], lse[i0 + r], row[..seen]);
                                    row[seen..].Fill(float.NegativeInfinity);
                                }
                                var probabilityBlock = new Span<float>(probabilities, rows * cols);
                                TensorPrimitives.Exp(probabilityBlock, probabilityBlock);
                                // dV += Pᵀ·dO; dP = dO·vᵀ; dS = P ∘ (dP − rowdot).
                                CpuGemm.Serial<F32Reader, TReader>(new StridedProduct(cols, d, rows,
                                    (nint)probabilities, cols, true, gradResults, channels, false, (nint)gradValues, d, 1f, 1f), kernel);
                                CpuGemm.Serial<TReader, TReader>(new StridedProduct(rows, cols, d,
                                    gradResults, channels, false, values, channels, true, (nint)gradScores, cols), kernel);
                                for (int r = 0; r < rows; r++)
                                {
                                    var gradRow = new Span<float>(gradScores + r * cols, cols);
                                    TensorPrimitives.Subtract(gradRow, dots[i0 + r], gradRow);
                                }
                                var gradScoreBlock = new Span<float>(gradScores, rows * cols);
                                TensorPrimitives.Multiply(gradScoreBlock, probabilityBlock, gradScoreBlock);
                                // dK += scale·dSᵀ·q; dQ += scale·dS·k.
                                CpuGemm.Serial<F32Reader, TReader>(new StridedProduct(cols, d, rows,
                                    (nint)gradScores, cols, true, queries, channels, false, (nint)gradKeys, d, s.Scale, 1f), kernel);
                                CpuGemm.Serial<F32Reader, TReader>(new StridedProduct(rows, d, cols,
                                    (nint)gradScores, cols, false, keys, channels, false, (nint)(gradQueries + (long)i0 * d), d, s.Scale, 1f), kernel);
                            }
                            for (int r = 0; r < cols; r++)
                            {
                                long row = s.HeadRow(batch, s.Keys, j0 + r, head);
                                ElementBlocks.Store(dtype, new ReadOnlySpan<float>(gradKeys + r * d, d), x.GradK, row);
                                ElementBlocks.Store(dtype, new ReadOnlySpan<float>(gradValues + r * d, d), x.GradV, row);
                            }
                        }
                        for (int i = 0; i < s.Queries; i++)
                        {
                            ElementBlocks.Store(dtype, new ReadOnlySpan<float>(gradQueries + (long)i * d, d), x.GradQ, s.HeadRow(batch, s.Queries, i, head));
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        });
    }
}
