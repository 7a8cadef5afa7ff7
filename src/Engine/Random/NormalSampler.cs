using Dsoup.Kernels.Random;

namespace Dsoup.Engine.Random;

/// <summary>
/// Standard normal samples from Philox-4x32-10 by the Box–Muller transform, computed on the host in
/// f64 and rounded once to f32, so a (seed, offset) gives the same numbers whatever device receives
/// them. Element g uses block g / 4: words (0, 1) make elements 4k, 4k+1 and words (2, 3) make 4k+2, 4k+3.
/// </summary>
public static class NormalSampler
{
    public static void Fill(Span<float> destination, ulong seed, ulong offset)
    {
        for (int i = 0; i < destination.Length;)
        {
            ulong g = offset + (ulong)i;
            PhiloxBlock block = Philox.Block(seed, g / 4);
            for (int lane = (int)(g % 4); lane < 4 && i < destination.Length; lane++, i++)
            {
                destination[i] = Sample(block, lane);
            }
        }
    }

    private static float Sample(PhiloxBlock block, int lane)
    {
        int pair = lane / 2;
        uint first = block.Lane(2 * pair), second = block.Lane(2 * pair + 1);
        double u1 = ((first >> 8) + 1) / 16777216.0; // (0, 1]: the logarithm stays finite
        double u2 = (second >> 8) / 16777216.0;
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        double angle = 2.0 * Math.PI * u2;
        return (float)(lane % 2 == 0 ? radius * Math.Cos(angle) : radius * Math.Sin(angle));
    }
}
