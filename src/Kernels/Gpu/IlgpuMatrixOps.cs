using Dsoup.Kernels.Nn;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// The matrix-product ops of one dtype on one accelerator (products, convolutions, attention): on CUDA cores
/// (<see cref="IlgpuNeuralOps{T, E}"/>), or for 16-bit dtypes on tensor cores (<see cref="IlgpuTensorCoreOps{T, E}"/>).
/// </summary>
internal interface IIlgpuMatrixOps
{
    void Gemm(in GemmProblem problem);

    void Convolution(BufferView x, BufferView weight, BufferView? bias, BufferView y, ConvShape shape);

    void ConvolutionBackward(BufferView x, BufferView weight, BufferView gradOutput, BufferView gradInput, BufferView gradWeight, ConvShape shape);

    void Attention(BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, AttentionShape shape);

    void AttentionBackward(BufferView q, BufferView k, BufferView v, BufferView result, BufferView logSumExp, BufferView gradResult,
        BufferView gradQ, BufferView gradK, BufferView gradV, BufferView rowDots, AttentionShape shape);
}
