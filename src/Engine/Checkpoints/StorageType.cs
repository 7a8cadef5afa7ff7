namespace Dsoup.Engine.Checkpoints;

/// <summary>Every element type the safetensors format defines (and .ckpt storages map onto).</summary>
public enum StorageType
{
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    F8E4M3Fnuz,
    F8E5M2Fnuz,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
    C64,
    F4,
    F6E2M3,
    F6E3M2,
}

public static class StorageTypes
{
    private static readonly (StorageType Type, string Name, int Bits)[] Table =
    [
        (StorageType.Bool, "BOOL", 8), (StorageType.U8, "U8", 8), (StorageType.I8, "I8", 8),
        (StorageType.F8E5M2, "F8_E5M2", 8), (StorageType.F8E4M3, "F8_E4M3", 8), (StorageType.F8E8M0, "F8_E8M0", 8),
        (StorageType.F8E4M3Fnuz, "F8_E4M3FNUZ", 8), (StorageType.F8E5M2Fnuz, "F8_E5M2FNUZ", 8),
        (StorageType.I16, "I16", 16), (StorageType.U16, "U16", 16), (StorageType.F16, "F16", 16), (StorageType.BF16, "BF16", 16),
        (StorageType.I32, "I32", 32), (StorageType.U32, "U32", 32), (StorageType.F32, "F32", 32),
        (StorageType.F64, "F64", 64), (StorageType.I64, "I64", 64), (StorageType.U64, "U64", 64), (StorageType.C64, "C64", 64),
        (StorageType.F4, "F4", 4), (StorageType.F6E2M3, "F6_E2M3", 6), (StorageType.F6E3M2, "F6_E3M2", 6),
    ];

    private static readonly Dictionary<string, StorageType> ByName = Table.ToDictionary(t => t.Name, t => t.Type, StringComparer.Ordinal);

    /// <summary>The dtype string as safetensors writes it (F32, BF16, F8_E4M3, ...).</summary>
    public static string Name(this StorageType type) => Table[(int)type].Name;

    public static int Bits(this StorageType type) => Table[(int)type].Bits;

    public static bool TryParse(string name, out StorageType type) => ByName.TryGetValue(name, out type);

    /// <summary>True for the types tensors compute in (f32, f16, bf16) and f64, which converts to them.</summary>
    public static bool IsFloatingPoint(this StorageType type) =>
        type is StorageType.F32 or StorageType.F16 or StorageType.BF16 or StorageType.F64;

    /// <summary>The compute dtype holding this storage type without change, if there is one.</summary>
    public static DType? AsComputeType(this StorageType type) => type switch
    {
        StorageType.F32 => DType.F32,
        StorageType.F16 => DType.F16,
        StorageType.BF16 => DType.BF16,
        _ => null,
    };

    public static StorageType FromComputeType(DType dtype) => dtype switch
    {
        DType.F32 => StorageType.F32,
        DType.F16 => StorageType.F16,
        _ => StorageType.BF16,
    };

    /// <summary>Bytes for <paramref name="elements"/> elements, or null when the count is not a whole number of bytes or overflows.</summary>
    public static long? ByteLength(this StorageType type, long elements)
    {
        try
        {
            long bits = checked(elements * type.Bits());
            return bits % 8 == 0 ? bits / 8 : null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
