using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels;

/// <summary>
/// The neural-network half of a backend's op set: each forward with the backward it needs. Same
/// conventions as <see cref="IBackend"/>: dense data, f32 arithmetic, f16/bf16 rounded on store, and
/// every reduction in a fixed order so results do not change from run to run. Buffers documented
/// as f32 are f32 whatever the data's dtype.
/// </summary>
public interface INeuralOps
{
    void Activate(Activation kind, DType dtype, BufferView x, BufferView result, long count);

    /// <summary>gradInput = gradOutput · f′(x).</summary>
    void ActivateBackward(Activation kind, DType dtype, BufferView x, BufferView gradOutput, BufferView gradInput, long count);

    void Softmax(DType dtype, BufferView x, BufferView result, SoftmaxShape shape);

    /// <summary>gradInput = y · (gradOutput − Σ gradOutput·y) per row, from the softmax output y.</summary>
    void SoftmaxBackward(DType dtype, BufferView y, BufferView gradOutput, BufferView gradInput, SoftmaxShape shape);

    /// <summary>
    /// Fused multi-head attention: result = softmax(scale·q·kᵀ, masked)·v per batch and head, computed
    /// block by block with an online softmax so the full score matrix is never held. Writes each
    /// query row's log-sum-exp of its scaled scores (f32, <see cref="AttentionShape.Rows"/>) for the backward pass.
    /// </summary>
    void Attention(DType dtype, BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, AttentionShape shape);

    /// <summary>
    /// Gradients of <see cref="Attention"/> for q, k and v (overwritten) from its result and log-sum-exp,
    /// recomputing the scores block by block. <paramref name="rowDots"/> is f32 scratch of
    /// <see cref="AttentionShape.Rows"/> values (Σ gradResult·result per head row).
    /// </summary>
    void AttentionBackward(DType dtype, BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp,
        BufferView gradResult, BufferView gradQ, BufferView gradK, BufferView gradV, BufferView rowDots, AttentionShape shape);

    /// <summary>
    /// y = (x − mean)·rstd·weight[c] + bias[c] per row, with rstd = 1/√(biased variance + eps); writes the
    /// rows' mean and rstd (f32, one per row) for the backward pass.
    /// </summary>
    void Normalize(DType dtype, BufferView x, BufferView weight, BufferView bias, BufferView y,
        BufferView mean, BufferView rstd, NormShape shape, float eps);

    /// <summary>Gradients of <see cref="Normalize"/> for x, weight and bias (overwritten, not accumulated).</summary>
    void NormalizeBackward(DType dtype, BufferView x, BufferView weight, BufferView mean, BufferView rstd,
        BufferView gradOutput, BufferView gradInput, BufferView gradWeight, BufferView gradBias, NormShape shape);

    void CopyAxis(DType dtype, BufferView source, BufferView destination, AxisCopy copy);

    void SwapAxes(DType dtype, BufferView source, BufferView destination, AxisSwap swap);

    /// <summary>Nearest upsampling of <paramref name="planes"/> planes of height × width by an integer factor.</summary>
    void Upsample(DType dtype, BufferView source, BufferView result, long planes, int height, int width, int factor);

    /// <summary>The adjoint of <see cref="Upsample"/>: each input pixel's gradient is the sum over its factor² copies.</summary>
    void UpsampleBackward(DType dtype, BufferView gradOutput, BufferView gradInput, long planes, int height, int width, int factor);

    /// <summary>
    /// y = conv(x, weight) + bias[o] (see <see cref="ConvShape"/>), zero padding; <paramref name="bias"/> is
    /// read only when given. Products accumulate in f32; the whole input's column matrix is never built.
    /// </summary>
    void Convolution(DType dtype, BufferView x, BufferView weight, BufferView? bias, BufferView y, ConvShape shape);

    /// <summary>
    /// Gradients of <see cref="Convolution"/> for the input and the weight (overwritten, not accumulated).
    /// The weight's gradient sums over every image and pixel in f32 and is rounded once.
    /// </summary>
    void ConvolutionBackward(DType dtype, BufferView x, BufferView weight, BufferView gradOutput,
        BufferView gradInput, BufferView gradWeight, ConvShape shape);

    /// <summary>
    /// One AdamW update in place of f32 parameters and moments from gradients of <paramref name="gradType"/>,
    /// using the gradient factor and bias corrections in <paramref name="state"/> (f32 [4], see
    /// <see cref="AdamWStepState"/>), which <see cref="PrepareAdamWStep"/> wrote on the device; a factor
    /// that is not finite leaves everything unchanged.
    /// </summary>
    void AdamW(DType gradType, BufferView parameters, BufferView gradients, BufferView moment1, BufferView moment2,
        BufferView state, long count, AdamWStep step);

    /// <summary>
    /// Prepares the next update in <paramref name="state"/> from the gradients' f32 sum of squares (one device
    /// scalar), with no round trip to the host: the factor <paramref name="inverseLossScale"/> · min(1, maxNorm /
    /// (‖g‖ + 1e-6)) with ‖g‖ the unscaled norm (no clipping when maxNorm ≤ 0), or NaN when the sum is not
    /// finite; and, only for a finite factor, t + 1 and its bias corrections.
    /// </summary>
    void PrepareAdamWStep(BufferView sumOfSquares, BufferView state, float maxNorm, float inverseLossScale, float beta1, float beta2);
}
