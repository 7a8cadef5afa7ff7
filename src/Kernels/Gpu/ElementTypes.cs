using System.Runtime.CompilerServices;
using ILGPU;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// How a kernel reads and writes one storage dtype as f32. Kernels are generic over a struct
/// implementing this, so each dtype gets its own specialised kernel with no branches.
/// </summary>
public interface IElement<T>
    where T : unmanaged
{
    float Load(T value);

    T Store(float value);
}

/// <summary>f32 storage.</summary>
public readonly struct F32Element : IElement<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Store(float value) => value;
}

/// <summary>
/// IEEE f16 storage through <see cref="ILGPU.Half"/> (System.Half does not compile in kernels).
/// The f32 → f16 rounding is done here in integer arithmetic: ILGPU 1.5.3's own conversion truncates
/// on its CPU accelerator (−52.929466 gives 0xD29D, not 0xD29E) while CUDA rounds to nearest even,
/// so the two backends would disagree. This one rounds to nearest even everywhere.
/// </summary>
public readonly partial struct F16Element : IElement<ILGPU.Half>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(ILGPU.Half value) => (float)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ILGPU.Half Store(float value)
    {
        ushort bits = RoundToF16(Interop.FloatAsInt(value));
        return Unsafe.As<ushort, ILGPU.Half>(ref bits);
    }

    /// <summary>f32 bits → f16 bits, round to nearest even; NaN stays NaN (quiet), overflow becomes infinity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort RoundToF16(uint bits)
    {
        uint sign = (bits >> 16) & 0x8000u;
        uint magnitude = bits & 0x7FFF_FFFFu;
        uint result;
        if (magnitude >= 0x4780_0000u)
        {
            // ≥ 65536 (or infinite, or NaN): infinity, or a quiet NaN keeping the top payload bits.
            result = magnitude > 0x7F80_0000u ? 0x7E00u | ((magnitude >> 13) & 0x03FFu) : 0x7C00u;
        }
        else if (magnitude < 0x3880_0000u)
        {
            // Below 2^-14: an f16 subnormal. Adding 0.5 aligns the mantissa so that the FPU's own
            // round-to-nearest-even does the rounding; subtracting its bits leaves the f16 pattern.
            const uint Magic = 0x3F00_0000u;
            float aligned = Interop.IntAsFloat(magnitude) + Interop.IntAsFloat(Magic);
            result = Interop.FloatAsInt(aligned) - Magic;
        }
        else
        {
            // Normal: rebias the exponent and round on the 13 dropped bits (ties to even);
            // a carry out of the mantissa correctly bumps the exponent, up to infinity.
            uint odd = (magnitude >> 13) & 1u;
            result = (magnitude + 0xC800_0FFFu + odd) >> 13;
        }
        return (ushort)(sign | result);
    }
}

/// <summary>bf16 storage as raw 16-bit patterns; rounding to nearest even, NaN kept quiet.</summary>
public readonly partial struct BF16Element : IElement<ushort>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(ushort value) => Interop.IntAsFloat((uint)value << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort Store(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            return (ushort)((bits >> 16) | 0x0040u);
        }
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }
}
