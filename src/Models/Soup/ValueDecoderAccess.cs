using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>Widening raw tensor bytes to f64, for callers outside the soup engine (tests, evaluation).</summary>
public static class ValueDecoderAccess
{
    public static void Decode(StorageType type, ReadOnlySpan<byte> raw, Span<double> destination, Span<float> scratch) =>
        ValueDecoder.Decode(type, raw, destination, scratch);
}
