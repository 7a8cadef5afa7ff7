using System.Runtime.CompilerServices;

namespace Dsoup.Kernels.Random;

/// <summary>Four 32-bit outputs of one Philox block.</summary>
public struct PhiloxBlock
{
    public uint W0;
    public uint W1;
    public uint W2;
    public uint W3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly uint Lane(int lane) => lane switch { 0 => W0, 1 => W1, 2 => W2, _ => W3 };
}

/// <summary>
/// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
/// a counter-based generator, so element i of a stream can be computed anywhere, in any order,
/// on any backend, and give the same bits. Pure integer arithmetic, usable inside ILGPU kernels.
/// A stream is a 64-bit seed (the key); element g of the stream is lane g % 4 of block g / 4
/// (the block index is the counter's two low words).
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53u;
    private const uint M1 = 0xCD9E8D57u;
    private const uint W0 = 0x9E3779B9u;
    private const uint W1 = 0xBB67AE85u;

    /// <summary>Encrypts the counter with the key in 10 rounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Encrypt(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint)p1;
            c3 = (uint)p0;
            c0 = n0;
            c2 = n2;
            k0 += W0;
            k1 += W1;
        }
        return new PhiloxBlock { W0 = c0, W1 = c1, W2 = c2, W3 = c3 };
    }

    /// <summary>Block <paramref name="blockIndex"/> of stream <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Block(ulong seed, ulong blockIndex) =>
        Encrypt((uint)blockIndex, (uint)(blockIndex >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));

    /// <summary>Maps 32 random bits to a float in [0, 1) with 24 bits of resolution (exact in f32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToUnitFloat(uint bits) => (bits >> 8) * (1.0f / 16777216.0f);
}
