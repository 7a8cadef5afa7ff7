using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Conversion;

/// <summary>
/// Copies a tensor's bytes into the writer, converting floating-point types on the way, in chunks of
/// at most <see cref="ChunkElements"/> elements, so memory stays bounded whatever the tensor size.
/// </summary>
public sealed class ConvertingCopy(IProgress<long>? progress = null) : ITensorProducer
{
    public const int ChunkElements = 1 << 21;

    private byte[]? input;
    private byte[]? output;
    private float[]? scratch;

    public void Produce(ModelTensor tensor, StorageType type, SafetensorsWriter writer)
    {
        if (!StorageConversion.CanConvert(tensor.Type, type))
        {
            throw new InvalidDataException($"'{tensor.Name}' is {tensor.Type.Name()}; it cannot be stored as {type.Name()}");
        }
        if (tensor.Type == type)
        {
            input ??= new byte[ChunkElements * 8];
            for (long start = 0; start < tensor.ByteLength; start += input.Length)
            {
                Span<byte> chunk = input.AsSpan(0, (int)Math.Min(input.Length, tensor.ByteLength - start));
                tensor.Read(start, chunk);
                writer.Write(chunk);
                progress?.Report(chunk.Length);
            }
            return;
        }
        int inSize = tensor.Type.Bits() / 8, outSize = type.Bits() / 8;
        input ??= new byte[ChunkElements * 8];
        output ??= new byte[ChunkElements * 4];
        scratch ??= new float[ChunkElements];
        for (long element = 0; element < tensor.ElementCount; element += ChunkElements)
        {
            int n = (int)Math.Min(ChunkElements, tensor.ElementCount - element);
            Span<byte> source = input.AsSpan(0, n * inSize);
            tensor.Read(element * inSize, source);
            StorageConversion.Convert(tensor.Type, source, type, output.AsSpan(0, n * outSize), scratch);
            writer.Write(output.AsSpan(0, n * outSize));
            progress?.Report(source.Length);
        }
    }
}
