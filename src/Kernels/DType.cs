namespace Dsoup.Kernels;

/// <summary>Element types a tensor can hold. Arithmetic always runs in f32; f16 and bf16 are storage types.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
}

public static class DTypeInfo
{
    public static readonly IReadOnlyList<DType> All = [DType.F32, DType.F16, DType.BF16];

    public static int Size(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F16 or DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public static string Name(this DType dtype) => dtype switch
    {
        DType.F32 => "f32",
        DType.F16 => "f16",
        DType.BF16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>Parses f32/f16/bf16 (also float32/float16/bfloat16, any case).</summary>
    public static DType Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" or "float" => DType.F32,
        "f16" or "float16" or "fp16" or "half" => DType.F16,
        "bf16" or "bfloat16" => DType.BF16,
        _ => throw new ArgumentException($"unknown dtype '{text}': expected one of f32, f16, bf16"),
    };
}
