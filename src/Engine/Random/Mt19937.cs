namespace Dsoup.Engine.Random;

/// <summary>The 32-bit Mersenne Twister (Matsumoto and Nishimura, 1998), seeded as std::mt19937 and PyTorch seed it.</summary>
public sealed class Mt19937
{
    private const int N = 624, M = 397;
    private readonly uint[] state = new uint[N];
    private int next = N;

    public Mt19937(uint seed)
    {
        state[0] = seed;
        for (int i = 1; i < N; i++)
        {
            state[i] = 1812433253u * (state[i - 1] ^ (state[i - 1] >> 30)) + (uint)i;
        }
    }

    public uint Next()
    {
        if (next >= N)
        {
            Twist();
        }
        uint y = state[next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        return y ^ (y >> 18);
    }

    private void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (state[i] & 0x80000000u) | (state[(i + 1) % N] & 0x7FFFFFFFu);
            state[i] = state[(i + M) % N] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908B0DFu : 0u);
        }
        next = 0;
    }
}
