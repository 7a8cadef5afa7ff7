using Dsoup.Kernels.Random;

namespace Dsoup.Kernels.Cpu;

/// <summary>Philox uniforms on the CPU: element i is lane (offset+i) % 4 of block (offset+i) / 4.</summary>
internal static class CpuRandom
{
    public static void FillUniform(DType dtype, nint destination, long count, ulong seed, ulong offset)
    {
        CpuParallel.For(count, CpuParallel.StreamingGrain, (start, end) =>
        {
            Span<float> block = stackalloc float[ElementBlocks.Size];
            for (long s = start; s < end; s += ElementBlocks.Size)
            {
                int n = (int)Math.Min(ElementBlocks.Size, end - s);
                ulong g = offset + (ulong)s;
                PhiloxBlock bits = Philox.Block(seed, g / 4);
                for (int i = 0; i < n; i++, g++)
                {
                    int lane = (int)(g % 4);
                    if (lane == 0 && i > 0)
                    {
                        bits = Philox.Block(seed, g / 4);
                    }
                    block[i] = Philox.ToUnitFloat(bits.Lane(lane));
                }
                ElementBlocks.Store(dtype, block[..n], destination, s);
            }
        });
    }
}
