namespace Dsoup.Kernels.Gpu.Kernels;

/// <summary>Storage types a merge kernel reads and writes, as the integer codes kernels take.</summary>
public enum MergeValueType
{
    F16 = 0,
    BF16 = 1,
    F32 = 2,
    F64 = 3,
}
