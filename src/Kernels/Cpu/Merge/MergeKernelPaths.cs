namespace Dsoup.Kernels.Cpu.Merge;

/// <summary>
/// Which code paths the merge kernels take on the calling thread. The vector paths run wherever the
/// hardware has them; <see cref="ScalarOnly"/> sends a thread down the scalar paths that AVX2, ARM and
/// older hosts run, so tests check both on one machine (the GEMM's micro-kernels have the same choice).
/// </summary>
public static class MergeKernelPaths
{
    [ThreadStatic]
    private static bool scalarOnly;

    /// <summary>When true, the merge kernels called on this thread use only their scalar loops.</summary>
    public static bool ScalarOnly
    {
        get => scalarOnly;
        set => scalarOnly = value;
    }

    /// <summary>True when the vector paths may run on this thread.</summary>
    internal static bool VectorsAllowed => !scalarOnly;
}
