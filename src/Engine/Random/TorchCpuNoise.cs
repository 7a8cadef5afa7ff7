namespace Dsoup.Engine.Random;

/// <summary>
/// torch.randn on a torch.Generator("cpu") (ATen's CPU normal kernel over mt19937 seeded with the seed's
/// low 32 bits). Fewer than 16 elements: each is a double Box–Muller sample from two 53-bit uniforms, the
/// sine half cached for the next element (also across calls). 16 or more: the tensor is first filled with
/// 24-bit float uniforms, then each block of 16 becomes 8 cosine and 8 sine samples in f32 (u1 = 1 − first
/// half, u2 = second half); a tail shorter than 16 is handled by redrawing the last 16 elements.
/// </summary>
public sealed class TorchCpuNoise(ulong seed) : INoiseGenerator
{
    private readonly Mt19937 engine = new((uint)seed);
    private double? cachedNormal;

    public void Normal(Span<float> destination)
    {
        int n = destination.Length;
        if (n < 16)
        {
            for (int i = 0; i < n; i++)
            {
                destination[i] = (float)NextDoubleNormal();
            }
            return;
        }
        for (int i = 0; i < n; i++)
        {
            destination[i] = NextFloatUniform();
        }
        for (int i = 0; i + 16 <= n; i += 16)
        {
            FillSixteen(destination.Slice(i, 16));
        }
        if (n % 16 != 0)
        {
            Span<float> tail = destination[(n - 16)..];
            for (int i = 0; i < 16; i++)
            {
                tail[i] = NextFloatUniform();
            }
            FillSixteen(tail);
        }
    }

    private static void FillSixteen(Span<float> data)
    {
        for (int j = 0; j < 8; j++)
        {
            float u1 = 1 - data[j];
            float u2 = data[j + 8];
            float radius = MathF.Sqrt(-2 * MathF.Log(u1));
            float theta = 2.0f * MathF.PI * u2;
            data[j] = radius * MathF.Cos(theta);
            data[j + 8] = radius * MathF.Sin(theta);
        }
    }

    private float NextFloatUniform() => (engine.Next() & ((1u << 24) - 1)) * (1.0f / (1 << 24));

    private double NextDoubleUniform()
    {
        ulong high = engine.Next(), low = engine.Next();
        ulong bits = (high << 32) | low;
        return (bits & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));
    }

    private double NextDoubleNormal()
    {
        if (cachedNormal is double cached)
        {
            cachedNormal = null;
            return cached;
        }
        double u1 = NextDoubleUniform(), u2 = NextDoubleUniform();
        double radius = Math.Sqrt(-2 * Math.Log(1 - u2));
        double theta = 2.0 * Math.PI * u1;
        cachedNormal = radius * Math.Sin(theta);
        return radius * Math.Cos(theta);
    }
}
