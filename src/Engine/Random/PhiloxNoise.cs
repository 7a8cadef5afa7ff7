using Dsoup.Kernels.Random;

namespace Dsoup.Engine.Random;

/// <summary>
/// torch.randn on a CUDA generator, as A1111 and stable-diffusion.cpp reproduce it on any device: element i of
/// a call is Philox-4x32-10 of counter (offset, 0, i, 0) and key (seed low, seed high), whose first two words
/// make one Box–Muller sample in f32 as curand computes it (u = x·2⁻³² + 2⁻³³, v = y·2π·2⁻³² + π·2⁻³², √(−2 ln u)·sin v).
/// Each call advances the offset by one.
/// </summary>
public sealed class PhiloxNoise(ulong seed) : INoiseGenerator
{
    private const float TwoPow32Inverse = 2.3283064e-10f;
    private const float TwoPow32InverseTwoPi = TwoPow32Inverse * 6.2831855f;
    private uint offset;

    public void Normal(Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            PhiloxBlock block = Philox.Encrypt(offset, 0, (uint)i, 0, (uint)seed, (uint)(seed >> 32));
            float u = block.W0 * TwoPow32Inverse + TwoPow32Inverse / 2;
            float v = block.W1 * TwoPow32InverseTwoPi + TwoPow32InverseTwoPi / 2;
            destination[i] = MathF.Sqrt(-2.0f * MathF.Log(u)) * MathF.Sin(v);
        }
        offset++;
    }
}
