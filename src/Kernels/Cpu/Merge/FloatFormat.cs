namespace Dsoup.Kernels.Cpu.Merge;

/// <summary>A binary floating-point storage format: significand bits after the point and exponent range.</summary>
public readonly record struct FloatFormat(int MantissaBits, int MinExponent, int MaxExponent)
{
    public static readonly FloatFormat F16 = new(10, -14, 15);
    public static readonly FloatFormat BF16 = new(7, -126, 127);
    public static readonly FloatFormat F32 = new(23, -126, 127);

    public static FloatFormat Of(DType dtype) => dtype switch
    {
        DType.F16 => F16,
        DType.BF16 => BF16,
        _ => F32,
    };

    /// <summary>The largest finite value: (2 − 2^−p) · 2^emax.</summary>
    public double MaxFinite => (2.0 - Math.ScaleB(1.0, -MantissaBits)) * Math.ScaleB(1.0, MaxExponent);
}
