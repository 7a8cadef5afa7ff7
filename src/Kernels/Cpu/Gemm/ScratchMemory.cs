using System.Runtime.InteropServices;

namespace Dsoup.Kernels.Cpu.Gemm;

/// <summary>
/// Per-thread, 64-byte aligned scratch for packed GEMM panels and convolution tiles. It grows to the largest request a
/// thread has made and is kept for the thread's life, so steady-state GEMMs allocate nothing.
/// </summary>
internal static unsafe class ScratchMemory
{
    public const int PackedA = 0;
    public const int PackedB = 1;
    public const int ResultTile = 2;
    public const int ConvolutionColumns = 3;
    public const int ConvolutionColumnGradients = 4;
    public const int ConvolutionResult = 5;
    private const int Slots = 6;

    [ThreadStatic]
    private static nint[]? blocks;

    [ThreadStatic]
    private static long[]? capacities;

    public static float* Floats(int slot, long count)
    {
        blocks ??= new nint[Slots];
        capacities ??= new long[Slots];
        if (capacities[slot] < count)
        {
            NativeMemory.AlignedFree((void*)blocks[slot]);
            blocks[slot] = (nint)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), NativeBuffer.Alignment);
            capacities[slot] = count;
        }
        return (float*)blocks[slot];
    }
}
