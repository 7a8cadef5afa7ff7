using System.Numerics.Tensors;
using Dsoup.Engine.Linalg;

namespace Dsoup.Models.Lora;

/// <summary>
/// ΔW = B · A for one tensor (B: out × R with strengths and α/r folded in, A: R × rowLength), evaluated
/// for any run of elements on demand, so a streaming merge never holds the dense ΔW. Each element
/// sums its R products in a fixed order, so results do not depend on chunking or threads.
/// </summary>
public sealed class LoraDelta(Matrix up, Matrix down)
{
    /// <summary>values[i] += ΔW at flat element <paramref name="firstElement"/> + i.</summary>
    public void AddTo(long firstElement, Span<double> values)
    {
        int rowLength = down.Columns;
        long element = firstElement;
        int done = 0;
        while (done < values.Length)
        {
            int row = (int)(element / rowLength), column = (int)(element % rowLength);
            int length = Math.Min(values.Length - done, rowLength - column);
            Span<double> target = values.Slice(done, length);
            for (int k = 0; k < up.Columns; k++)
            {
                double b = up[row, k];
                if (b != 0)
                {
                    TensorPrimitives.MultiplyAdd(down.Row(k).Slice(column, length), b, target, target);
                }
            }
            done += length;
            element += length;
        }
    }
}
