namespace Dsoup.Engine.Checkpoints.Safetensors;

/// <summary>A tensor to be written: name, element type and shape (its bytes follow in file order).</summary>
public sealed record TensorHeader(string Name, StorageType Type, long[] Shape)
{
    public long ByteLength => Type.ByteLength(Shape.Aggregate(1L, (a, d) => checked(a * d)))
        ?? throw new ArgumentException($"tensor '{Name}' of {Type.Name()} does not fill whole bytes");

    public static TensorHeader From(TensorEntry entry) => new(entry.Name, entry.Type, entry.Shape);
}
