using System.Runtime.InteropServices;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Layouts;

/// <summary>A run of bytes inside a source tensor.</summary>
public readonly record struct TensorPiece(TensorEntry Source, long Offset, long Length);

/// <summary>
/// One tensor of a model in dsoup's canonical naming: "component.diffusers_key" (e.g.
/// "unet.conv_in.weight") for the three components, or the tensor's own name for extras (EMA copies,
/// noise-schedule buffers, anything without a place in a component). Its bytes are one or more pieces
/// of source tensors: a slice when a packed original tensor was split.
/// </summary>
public sealed record ModelTensor(string Name, ModelComponent? Component, string Key, StorageType Type, long[] Shape, IReadOnlyList<TensorPiece> Pieces)
{
    public long ByteLength => Pieces.Sum(p => p.Length);

    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public static string CanonicalName(ModelComponent component, string key) => $"{component.FolderName()}.{key}";

    /// <summary>The whole tensor's values as float32 (floating-point storage types only).</summary>
    public float[] ReadSingles()
    {
        var raw = new byte[ByteLength];
        Read(0, raw);
        var values = new float[ElementCount];
        StorageConversion.Convert(Type, raw, StorageType.F32, MemoryMarshal.AsBytes(values.AsSpan()), values);
        return values;
    }

    /// <summary>Copies bytes [start, start + destination.Length) of this tensor, across pieces.</summary>
    public void Read(long start, Span<byte> destination)
    {
        long pieceStart = 0;
        foreach (TensorPiece piece in Pieces)
        {
            long pieceEnd = pieceStart + piece.Length;
            if (destination.IsEmpty)
            {
                return;
            }
            if (start < pieceEnd)
            {
                long within = start - pieceStart;
                int count = (int)Math.Min(destination.Length, piece.Length - within);
                piece.Source.Read(piece.Offset + within, destination[..count]);
                destination = destination[count..];
                start += count;
            }
            pieceStart = pieceEnd;
        }
        if (!destination.IsEmpty)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"read past the end of tensor '{Name}' ({ByteLength} bytes)");
        }
    }
}
