using Dsoup.Engine.Autograd;
using Dsoup.Engine.Tensors;
using Dsoup.Kernels;

namespace Dsoup.Engine;

public static partial class Ops
{
    /// <summary>
    /// Batched matrix product op(A) · op(B) over the last two axes, with f32 accumulation for every dtype.
    /// op(X) is X, or X transposed when its flag is set. Leading (batch) axes must be equal, or one
    /// operand has rank 2 and is shared across the other's batch (a linear layer's weight).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        Tensor result = Product(a, b, transposeA, transposeB);
        Tape.Record("MatMul", [a, b], result, g =>
        {
            Tensor gradA = (transposeA, transposeB) switch
            {
                (false, false) => Product(g, b, false, true),
                (false, true) => Product(g, b, false, false),
                (true, false) => Product(b, g, false, true),
                (true, true) => Product(b, g, true, true),
            };
            Tensor gradB = b.Shape.Rank == 2 && a.Shape.Rank > 2 && !transposeA
                ? FoldedWeightGradient(a, g, transposeB)
                : (transposeA, transposeB) switch
                {
                    (false, false) => Product(a, g, true, false),
                    (false, true) => Product(g, a, true, false),
                    (true, false) => Product(a, g, false, false),
                    (true, true) => Product(g, a, true, true),
                };
            return [SumToRank(gradA, a.Shape.Rank), SumToRank(gradB, b.Shape.Rank)];
        });
        return result;
    }

    /// <summary>The product without recording: shapes checked, one batched GEMM.</summary>
    private static Tensor Product(Tensor a, Tensor b, bool transposeA, bool transposeB)
    {
        const string op = "MatMul";
        OpChecks.SameDevice(op, a, b);
        OpChecks.SameDType(op, a, b);
        OpChecks.MinimumRank(op, a, 2, "A");
        OpChecks.MinimumRank(op, b, 2, "B");
        int m = transposeA ? a.Shape[-1] : a.Shape[-2];
        int k = transposeA ? a.Shape[-2] : a.Shape[-1];
        int kb = transposeB ? b.Shape[-1] : b.Shape[-2];
        int n = transposeB ? b.Shape[-2] : b.Shape[-1];
        if (k != kb)
        {
            throw new ArgumentException(
                $"{op}: inner dimensions differ: op(A) is {m}×{k} (A {a.Shape}{(transposeA ? " transposed" : "")}), " +
                $"op(B) is {kb}×{n} (B {b.Shape}{(transposeB ? " transposed" : "")}); expected equal K");
        }
        int[] batchA = a.Shape.Dims[..^2].ToArray();
        int[] batchB = b.Shape.Dims[..^2].ToArray();
        int[] batchDims;
        if (batchA.Length == 0 || batchB.Length == 0 || batchA.SequenceEqual(batchB))
        {
            batchDims = batchA.Length >= batchB.Length ? batchA : batchB;
        }
        else
        {
            throw new ArgumentException(
                $"{op}: batch dimensions differ: A {a.Shape} has [{string.Join(", ", batchA)}], B {b.Shape} has [{string.Join(", ", batchB)}]; " +
                "expected equal batch dimensions, or a rank-2 operand shared across the batch");
        }
        long batch = new Shape(batchDims).Count;
        Tensor c = Tensor.Empty(new Shape([.. batchDims, m, n]), a.DType, a.Device);
        if (batch == 0 || m == 0 || n == 0)
        {
            return c;
        }
        bool sharedA = batchA.Length == 0, sharedB = batchB.Length == 0;
        long strideA = sharedA ? 0 : (long)m * k, strideB = sharedB ? 0 : (long)k * n, strideC = (long)m * n;
        int gemmBatch = checked((int)batch), gemmM = m;
        if (sharedB && !sharedA && !transposeA)
        {
            // A is [batch·M, K] in memory: one tall GEMM instead of a batch of small ones.
            gemmM = checked((int)(batch * m));
            gemmBatch = 1;
        }
        a.Device.Backend.Gemm(new GemmProblem(gemmBatch, gemmM, n, k, transposeA, transposeB, a.DType,
            a.View, strideA, b.View, strideB, c.View, strideC));
        return c;
    }

    /// <summary>The gradient of a shared weight B from a batched A, as one GEMM over the folded batch.</summary>
    private static Tensor FoldedWeightGradient(Tensor a, Tensor g, bool transposeB)
    {
        using Tensor a2 = a.Reshape(-1, a.Shape[-1]);
        using Tensor g2 = g.Reshape(-1, g.Shape[-1]);
        return transposeB ? Product(g2, a2, true, false) : Product(a2, g2, true, false);
    }

    /// <summary>Sums a batched gradient over its batch axes when the operand was a shared rank-2 matrix.</summary>
    private static Tensor SumToRank(Tensor gradient, int rank)
    {
        if (gradient.Shape.Rank == rank)
        {
            return gradient;
        }
        using Tensor flat = gradient.Reshape(-1, gradient.Shape[-2], gradient.Shape[-1]);
        Tensor summed = Sum(flat, 0);
        gradient.Dispose();
        return summed;
    }
}
