using System.Buffers;
using Dsoup.Engine.Checkpoints;
using Dsoup.Models.Layouts;

namespace Dsoup.Models.Inspection;

/// <summary>Reads a tensor's values in bounded chunks to count NaN and infinities.</summary>
public static class ValueScanner
{
    private const int ChunkElements = 1 << 20;

    public static long CountNonFinite(ModelTensor tensor)
    {
        int size = tensor.Type.Bits() / 8;
        byte[] bytes = ArrayPool<byte>.Shared.Rent(ChunkElements * size);
        float[] values = ArrayPool<float>.Shared.Rent(ChunkElements);
        byte[] asF32 = ArrayPool<byte>.Shared.Rent(ChunkElements * 4);
        try
        {
            long count = 0;
            for (long e = 0; e < tensor.ElementCount; e += ChunkElements)
            {
                int n = (int)Math.Min(ChunkElements, tensor.ElementCount - e);
                tensor.Read(e * size, bytes.AsSpan(0, n * size));
                StorageConversion.Convert(tensor.Type, bytes.AsSpan(0, n * size), StorageType.F32, asF32.AsSpan(0, n * 4), values);
                foreach (float v in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(asF32.AsSpan(0, n * 4)))
                {
                    if (!float.IsFinite(v))
                    {
                        count++;
                    }
                }
            }
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<float>.Shared.Return(values);
            ArrayPool<byte>.Shared.Return(asF32);
        }
    }
}
