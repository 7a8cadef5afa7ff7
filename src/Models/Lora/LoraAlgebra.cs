using Dsoup.Engine.Linalg;

namespace Dsoup.Models.Lora;

/// <summary>A low-rank factorisation B · A of a weight update, and what a rank reduction dropped.</summary>
public sealed record LowRankFactors(Matrix Up, Matrix Down, double Energy, double DroppedEnergy);

/// <summary>
/// The algebra of combining LoRAs. Σ cᵢ Bᵢ Aᵢ = [c₁B₁ … cₙBₙ] · [A₁; …; Aₙ] exactly (rank concatenation);
/// never (Σ Bᵢ)(Σ Aᵢ), which adds the cross terms Bᵢ Aⱼ. Reducing the rank goes through QR of both
/// stacked factors and an SVD of the small R × R core, so the dense out × in update is never formed.
/// </summary>
public static class LoraAlgebra
{
    /// <summary>The exact combined update of several patches of one tensor: B = [s₁B₁ … sₙBₙ] (sᵢ = strength · α/r), A = [A₁; …; Aₙ].</summary>
    public static (Matrix Up, Matrix Down) Combine(IReadOnlyList<LoraPatch> patches) =>
        (ConcatenateColumns(patches.Select(p => p.Module.ReadUp().ScaleInPlace(p.Strength * p.Module.Scale)).ToList()),
         ConcatenateRows(patches.Select(p => p.Module.ReadDown()).ToList()));

    public static Matrix ConcatenateColumns(IReadOnlyList<Matrix> parts)
    {
        int rows = parts[0].Rows;
        if (parts.Any(p => p.Rows != rows))
        {
            throw new ArgumentException("all B factors of one module must have the same number of rows (output features)");
        }
        var result = new Matrix(rows, parts.Sum(p => p.Columns));
        for (int i = 0; i < rows; i++)
        {
            int column = 0;
            foreach (Matrix part in parts)
            {
                part.Row(i).CopyTo(result.Row(i)[column..]);
                column += part.Columns;
            }
        }
        return result;
    }

    public static Matrix ConcatenateRows(IReadOnlyList<Matrix> parts)
    {
        int columns = parts[0].Columns;
        if (parts.Any(p => p.Columns != columns))
        {
            throw new ArgumentException("all A factors of one module must have the same row length (input features × kernel)");
        }
        var result = new Matrix(parts.Sum(p => p.Rows), columns);
        int offset = 0;
        foreach (Matrix part in parts)
        {
            part.Values.CopyTo(result.Values, offset);
            offset += part.Values.Length;
        }
        return result;
    }

    /// <summary>‖up · down‖²_F = Σ_jk (upᵀup)_jk (down downᵀ)_jk, from the two small Gram matrices.</summary>
    public static double Energy(Matrix up, Matrix down)
    {
        Matrix left = up.Transpose().Multiply(up), right = down.Multiply(down.Transpose());
        double sum = 0;
        for (int i = 0; i < left.Values.Length; i++)
        {
            sum += left.Values[i] * right.Values[i];
        }
        return sum;
    }

    /// <summary>
    /// The best rank-<paramref name="rank"/> approximation of up · down (Eckart–Young): with up = Q_B R_B and
    /// downᵀ = Q_A R_A, up · down = Q_B (R_B R_Aᵀ) Q_Aᵀ; the SVD U Σ Vᵀ of the small core gives
    /// B′ = Q_B U_r √Σ_r and A′ = √Σ_r V_rᵀ Q_Aᵀ. The energy is ‖up · down‖²_F; the dropped part is Σ_{k ≥ r} σ_k².
    /// </summary>
    public static LowRankFactors Truncate(Matrix up, Matrix down, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        (Matrix qb, Matrix rb) = ThinQr.Decompose(up);
        (Matrix qa, Matrix ra) = ThinQr.Decompose(down.Transpose());
        SingularValueDecomposition core = JacobiSvd.Decompose(rb.Multiply(ra.Transpose()));
        int kept = Math.Min(rank, core.S.Length);
        double energy = core.S.Sum(s => s * s);
        double dropped = core.S.Skip(kept).Sum(s => s * s);

        var left = new Matrix(core.U.Rows, kept);
        var right = new Matrix(kept, core.V.Rows);
        for (int k = 0; k < kept; k++)
        {
            double root = Math.Sqrt(core.S[k]);
            for (int i = 0; i < core.U.Rows; i++)
            {
                left[i, k] = core.U[i, k] * root;
            }
            for (int j = 0; j < core.V.Rows; j++)
            {
                right[k, j] = core.V[j, k] * root;
            }
        }
        return new LowRankFactors(qb.Multiply(left), right.Multiply(qa.Transpose()), energy, dropped);
    }
}
