using System.Runtime.CompilerServices;
using ILGPU.Runtime.Cuda;

namespace Dsoup.Kernels.Gpu.TensorCores;

/// <summary>
/// <c>mma.sync.aligned.m16n8k16.row.col</c> with f32 accumulation, as inline PTX: ILGPU 1.5.3 has no MMA
/// intrinsics. The instruction needs sm_80 (Ampere) or newer; the string must be a literal at the call, so
/// the dtype is a flag that folds away once the caller is inlined.
/// </summary>
internal static class MmaInstruction
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MmaC Issue(bool bfloat16, MmaA a, MmaB b, MmaC c)
    {
        Output<float> d0 = default, d1 = default, d2 = default, d3 = default;
        Input<uint> a0 = a.R0, a1 = a.R1, a2 = a.R2, a3 = a.R3, b0 = b.R0, b1 = b.R1;
        Input<float> c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
        if (bfloat16)
        {
            CudaAsm.EmitRef(
                "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};",
                ref d0, ref d1, ref d2, ref d3, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref c0, ref c1, ref c2, ref c3);
        }
        else
        {
            CudaAsm.EmitRef(
                "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};",
                ref d0, ref d1, ref d2, ref d3, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref c0, ref c1, ref c2, ref c3);
        }
        return new MmaC { C0 = d0.Value, C1 = d1.Value, C2 = d2.Value, C3 = d3.Value };
    }
}
