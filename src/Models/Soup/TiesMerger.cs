using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>
/// TIES-merging (see <see cref="SoupMethod.Ties"/>). Before each tensor, one selection per input finds
/// its top-k task-vector entries (a few streaming passes over the input and the base); chunks then
/// apply trim, sign election and the disjoint weighted mean. Which of several equal magnitudes survive
/// is decided by position, so the result does not depend on chunking or threads.
/// </summary>
internal sealed class TiesMerger(SoupOptions options, IReadOnlyList<double> weights, IReadOnlyList<SoupIngredient> inputs, SoupIngredient baseModel,
    Lora.LoraTargets? loras) : ITensorMerger
{
    private Lora.LoraDelta? delta;

    private const int PassBlock = 1 << 16;

    private TopK[] selections = [];
    private long[] equalsSeen = [];

    public void Begin(MergedTensor tensor)
    {
        long k = (long)Math.Floor(options.Density * tensor.ElementCount);
        selections = new TopK[weights.Count];
        equalsSeen = new long[weights.Count];
        delta = loras?.DeltaFor(tensor.Name);
        for (int i = 0; i < weights.Count; i++)
        {
            int input = i;
            selections[i] = TopKSelection.Find(tensor.ElementCount, k, visit => StreamKeys(tensor, input, visit));
        }
    }

    public void Merge(ChunkData chunk, byte[] output)
    {
        int n = weights.Count;
        int blocks = ChunkBlocks.Count(chunk);
        // Equal-to-threshold keys are kept by position: count them per block first, so blocks can run in parallel.
        var equals = new long[blocks, n];
        ChunkBlocks.ForEach(blocks, block =>
        {
            (int start, int length) = ChunkBlocks.Range(chunk, block);
            double[][] x = ChunkBlocks.DecodeAll(chunk, start, length, weights.Count + 1, inputs, baseModel);
            for (int i = 0; i < n; i++)
            {
                for (int e = 0; e < length; e++)
                {
                    if (Key(x[i][e] - x[n][e]) == selections[i].Threshold)
                    {
                        equals[block, i]++;
                    }
                }
            }
        });
        var firstEqual = new long[blocks, n];
        for (int i = 0; i < n; i++)
        {
            for (int block = 0; block < blocks; block++)
            {
                firstEqual[block, i] = equalsSeen[i];
                equalsSeen[i] += equals[block, i];
            }
        }
        ChunkBlocks.ForEach(blocks, block =>
        {
            (int start, int length) = ChunkBlocks.Range(chunk, block);
            double[][] x = ChunkBlocks.DecodeAll(chunk, start, length, weights.Count + 1, inputs, baseModel);
            var seen = new long[n];
            for (int i = 0; i < n; i++)
            {
                seen[i] = firstEqual[block, i];
            }
            var trimmed = new double[n];
            Span<double> result = ChunkBlocks.Scratch.Rounded.AsSpan(0, length);
            for (int e = 0; e < length; e++)
            {
                double theta = x[n][e], mass = 0;
                for (int i = 0; i < n; i++)
                {
                    double tau = x[i][e] - theta;
                    trimmed[i] = Keep(i, Key(tau), ref seen[i]) ? tau : 0;
                    mass += trimmed[i];
                }
                double sign = mass >= 0 ? 1 : -1;
                double numerator = 0, denominator = 0;
                for (int i = 0; i < n; i++)
                {
                    if (trimmed[i] != 0 && Math.Sign(trimmed[i]) == sign)
                    {
                        numerator += weights[i] * trimmed[i];
                        denominator += weights[i];
                    }
                }
                result[e] = theta + options.Lambda * (denominator != 0 ? numerator / denominator : 0);
            }
            delta?.AddTo(chunk.Job.Start + start, result);
            ChunkBlocks.Store(chunk, start, result, output);
        });
    }

    private bool Keep(int input, ulong key, ref long seen)
    {
        TopK s = selections[input];
        if (s.KeepAll)
        {
            return true;
        }
        if (s.KeepNone || key < s.Threshold)
        {
            return false;
        }
        return key > s.Threshold || seen++ < s.KeepEqual;
    }

    private static ulong Key(double tau) => BitConverter.DoubleToUInt64Bits(Math.Abs(tau));

    /// <summary>One streaming pass over |θᵢ − θ₀| of a tensor, as keys.</summary>
    private void StreamKeys(MergedTensor tensor, int input, Action<ReadOnlySpan<ulong>> visit)
    {
        var source = tensor.Inputs[input]!;
        var basis = tensor.Base!;
        var raw = new byte[PassBlock * 8];
        var floats = new float[PassBlock];
        var x = new double[PassBlock];
        var b = new double[PassBlock];
        var keys = new ulong[PassBlock];
        for (long start = 0; start < tensor.ElementCount; start += PassBlock)
        {
            int n = (int)Math.Min(PassBlock, tensor.ElementCount - start);
            Read(source, start, n, raw, x, floats);
            Read(basis, start, n, raw, b, floats);
            for (int e = 0; e < n; e++)
            {
                keys[e] = Key(x[e] - b[e]);
            }
            visit(keys.AsSpan(0, n));
        }
    }

    private static void Read(Layouts.ModelTensor tensor, long start, int n, byte[] raw, double[] values, float[] floats)
    {
        int size = tensor.Type.Bits() / 8;
        Span<byte> bytes = raw.AsSpan(0, n * size);
        tensor.Read(start * size, bytes);
        ValueDecoder.Decode(tensor.Type, bytes, values.AsSpan(0, n), floats);
    }
}
