using System.Runtime.CompilerServices;
using Dsoup.Kernels.Gpu.Kernels;
using Dsoup.Kernels.Gpu.TensorCores;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Dsoup.Kernels.Gpu;

// The tensor-core half of the two 16-bit storage types: the MMA instruction on CUDA, its emulation elsewhere.

public readonly partial struct F16Element : ITensorCoreElement<ILGPU.Half>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float FromBits(uint bits) => (float)MergeValues.F16ToDouble((ushort)bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort ToBits(float value) => RoundToF16(Interop.FloatAsInt(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MmaC Mma(MmaA a, int aWord, MmaB b, int bWord, MmaC c, ArrayView<uint> scratch) => CudaAsm.IsSupported
        ? MmaInstruction.Issue(bfloat16: false, a, b, c)
        : MmaEmulation.Product<ILGPU.Half, F16Element>(scratch, aWord, bWord, c);
}

public readonly partial struct BF16Element : ITensorCoreElement<ushort>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float FromBits(uint bits) => Interop.IntAsFloat(bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort ToBits(float value) => Store(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MmaC Mma(MmaA a, int aWord, MmaB b, int bWord, MmaC c, ArrayView<uint> scratch) => CudaAsm.IsSupported
        ? MmaInstruction.Issue(bfloat16: true, a, b, c)
        : MmaEmulation.Product<ushort, BF16Element>(scratch, aWord, bWord, c);
}
