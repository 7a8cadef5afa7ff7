using System.Numerics;
using System.Numerics.Tensors;
using Dsoup.Engine.Checkpoints;

namespace Dsoup.Models.Soup;

/// <summary>
/// TIES-merging (see <see cref="SoupMethod.Ties"/>). Before each tensor, one selection per input finds
/// its top-k task-vector entries (a few streaming passes over the input and the base); chunks then
/// apply trim, sign election and the disjoint weighted mean. Which of several equal magnitudes survive
/// is decided by position, so the result does not depend on chunking or threads.
/// </summary>
internal sealed class TiesMerger(SoupOptions options, IReadOnlyList<double> weights, IReadOnlyList<SoupIngredient> inputs, SoupIngredient baseModel,
    Lora.LoraTargets? loras, IProgress<long>? progress) : ITensorMerger
{
    private Lora.LoraDelta? delta;

    private const int PassBlock = 1 << 16;

    private readonly double[] weightArray = [.. weights];
    private TopK[] selections = [];
    private long[] equalsSeen = [];

    public void Begin(MergedTensor tensor)
    {
        long k = (long)Math.Floor(options.Density * tensor.ElementCount);
        selections = new TopK[weights.Count];
        equalsSeen = new long[weights.Count];
        delta = loras?.DeltaFor(tensor.Name);
        // One selection per input, on all cores. The plan counts one selection read of every source (then the
        // merge): each input's first pass is reported, the base's bytes with input 0's; repeated passes are not.
        AllCores.For(weights.Count, input =>
        {
            int passes = 0;
            selections[input] = TopKSelection.Find(tensor.ElementCount, k, visit => StreamKeys(tensor, input, visit, passes++ == 0 ? progress : null));
        });
    }

    public bool ReadsItself(MergedTensor tensor) => false;

    public void Merge(ChunkData chunk, byte[] output)
    {
        int n = weights.Count;
        int blocks = ChunkBlocks.Count(chunk);
        // Where only some keys equal to a threshold are kept, the first ones by position win: count them per
        // block first (decoding just the base and those inputs), so blocks can then run in parallel.
        var equals = new long[blocks, n];
        int[] positional = Enumerable.Range(0, n).Where(i => selections[i].SplitsEqualKeys).ToArray();
        if (positional.Length > 0)
        {
            AllCores.For(blocks, block =>
            {
                (int start, int length) = ChunkBlocks.Range(chunk, block);
                double[][] x = ChunkBlocks.Scratch.Sources(n + 1);
                ChunkBlocks.Decode(chunk, n, start, x[n].AsSpan(0, length), ChunkBlocks.Scratch.Floats);
                foreach (int i in positional)
                {
                    ChunkBlocks.Decode(chunk, i, start, x[i].AsSpan(0, length), ChunkBlocks.Scratch.Floats);
                    for (int e = 0; e < length; e++)
                    {
                        if (Key(x[i][e] - x[n][e]) == selections[i].Threshold)
                        {
                            equals[block, i]++;
                        }
                    }
                }
            });
        }
        var firstEqual = new long[blocks, n];
        for (int i = 0; i < n; i++)
        {
            for (int block = 0; block < blocks; block++)
            {
                firstEqual[block, i] = equalsSeen[i];
                equalsSeen[i] += equals[block, i];
            }
        }
        AllCores.For(blocks, block =>
        {
            (int start, int length) = ChunkBlocks.Range(chunk, block);
            double[][] x = ChunkBlocks.DecodeAll(chunk, start, length, weights.Count + 1, inputs, baseModel);
            ReadOnlySpan<double> theta = x[n].AsSpan(0, length);
            for (int i = 0; i < n; i++)
            {
                Trim(x[i].AsSpan(0, length), theta, selections[i], firstEqual[block, i]); // τ̂ᵢ in place of θᵢ
            }
            Span<double> result = ChunkBlocks.Scratch.Rounded.AsSpan(0, length);
            DisjointMean(x, n, theta, result, ChunkBlocks.Scratch);
            delta?.AddTo(chunk.Job.Start + start, result);
            ChunkBlocks.Store(chunk, start, result, output);
        });
    }

    /// <summary>
    /// result = θ₀ + λ · Σ wᵢ τ̂ᵢ [sign τ̂ᵢ = γ] / Σ wᵢ [sign τ̂ᵢ = γ] with γ = sign Σ τ̂ᵢ (0 → +), one input at a
    /// time across the block in vectors. The sums run over the inputs in order, as in the GPU kernel; where that
    /// kernel skips an input this adds +0.0, which changes no sum (they start at +0.0 and never become −0.0).
    /// </summary>
    private void DisjointMean(double[][] trimmed, int n, ReadOnlySpan<double> theta, Span<double> result, BlockScratch scratch)
    {
        int length = theta.Length;
        Span<double> sign = scratch.Values.AsSpan(0, length), numerator = result, denominator = scratch.Denominators.AsSpan(0, length);
        sign.Clear();
        numerator.Clear();
        denominator.Clear();
        for (int i = 0; i < n; i++)
        {
            TensorPrimitives.Add(sign, trimmed[i].AsSpan(0, length), sign);
        }
        int width = Vector<double>.Count;
        int f = 0;
        for (; f + width <= length; f += width)
        {
            Vector<long> positive = Vector.GreaterThanOrEqual(new Vector<double>(sign[f..]), Vector<double>.Zero);
            Vector.ConditionalSelect(positive, Vector<double>.One, -Vector<double>.One).CopyTo(sign[f..]);
        }
        for (; f < length; f++)
        {
            sign[f] = sign[f] >= 0 ? 1 : -1;
        }
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<double> t = trimmed[i].AsSpan(0, length);
            double w = weightArray[i];
            var weight = new Vector<double>(w);
            int e = 0;
            for (; e + width <= length; e += width)
            {
                var value = new Vector<double>(t[e..]);
                // Same sign as γ and non-zero: τ̂·γ > 0 (γ is ±1, so the product is exact).
                Vector<double> keep = Vector.AsVectorDouble(Vector.GreaterThan(value * new Vector<double>(sign[e..]), Vector<double>.Zero));
                (new Vector<double>(numerator[e..]) + Vector.ConditionalSelect(Vector.AsVectorInt64(keep), weight * value, Vector<double>.Zero)).CopyTo(numerator[e..]);
                (new Vector<double>(denominator[e..]) + Vector.ConditionalSelect(Vector.AsVectorInt64(keep), weight, Vector<double>.Zero)).CopyTo(denominator[e..]);
            }
            for (; e < length; e++)
            {
                if (t[e] * sign[e] > 0)
                {
                    numerator[e] += w * t[e];
                    denominator[e] += w;
                }
            }
        }
        var lambda = new Vector<double>(options.Lambda);
        int r = 0;
        for (; r + width <= length; r += width)
        {
            var den = new Vector<double>(denominator[r..]);
            Vector<double> quotient = Vector.ConditionalSelect(Vector.Equals(den, Vector<double>.Zero), Vector<double>.Zero, new Vector<double>(numerator[r..]) / den);
            (new Vector<double>(theta[r..]) + lambda * quotient).CopyTo(result[r..]);
        }
        for (; r < length; r++)
        {
            result[r] = theta[r] + options.Lambda * (denominator[r] != 0 ? numerator[r] / denominator[r] : 0);
        }
    }

    /// <summary>
    /// Turns a block of θᵢ into τ̂ᵢ: θᵢ − θ₀ where the selection keeps it, else 0. Keys equal to the threshold
    /// are kept while fewer than KeepEqual have been seen, counting from <paramref name="seen"/> (those of earlier blocks).
    /// </summary>
    private static void Trim(Span<double> values, ReadOnlySpan<double> theta, TopK selection, long seen)
    {
        int e = 0;
        if (!selection.SplitsEqualKeys)
        {
            // Keys equal to the threshold are all kept or all dropped: keep key ≥ bound, in vectors.
            ulong bound = selection.KeepAll ? 0 : selection.KeepNone ? ulong.MaxValue : selection.KeepEqual > 0 ? selection.Threshold : selection.Threshold + 1;
            var lowest = new Vector<ulong>(bound);
            var magnitude = new Vector<ulong>(0x7FFF_FFFF_FFFF_FFFFUL);
            for (; e + Vector<double>.Count <= values.Length; e += Vector<double>.Count)
            {
                Vector<double> tau = new Vector<double>(values[e..]) - new Vector<double>(theta[e..]);
                Vector<ulong> keep = Vector.GreaterThanOrEqual(Vector.AsVectorUInt64(tau) & magnitude, lowest);
                Vector.ConditionalSelect(Vector.AsVectorDouble(keep), tau, Vector<double>.Zero).CopyTo(values[e..]);
            }
        }
        for (; e < values.Length; e++)
        {
            double tau = values[e] - theta[e];
            ulong key = Key(tau);
            bool keep = selection.KeepAll
                || (!selection.KeepNone && (key > selection.Threshold || (key == selection.Threshold && seen++ < selection.KeepEqual)));
            values[e] = keep ? tau : 0;
        }
    }

    /// <summary>|τ| as an ordered key (the bits of a non-negative double order like its value).</summary>
    internal static ulong Key(double tau) => BitConverter.DoubleToUInt64Bits(Math.Abs(tau));

    /// <summary>One streaming pass over |θᵢ − θ₀| of a tensor, as keys.</summary>
    private static void StreamKeys(MergedTensor tensor, int input, Action<ReadOnlySpan<ulong>> visit, IProgress<long>? progress)
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
            progress?.Report((long)n * (source.Type.Bits() + (input == 0 ? basis.Type.Bits() : 0)) / 8);
            for (int e = 0; e < n; e++)
            {
                keys[e] = Key(x[e] - b[e]);
            }
            visit(keys.AsSpan(0, n));
        }
    }

    /// <summary>Elements [start, start + n) of a tensor, decoded to f64 into <paramref name="values"/> (raw and floats are scratch).</summary>
    internal static void Read(Layouts.ModelTensor tensor, long start, int n, byte[] raw, double[] values, float[] floats)
    {
        int size = tensor.Type.Bits() / 8;
        Span<byte> bytes = raw.AsSpan(0, n * size);
        tensor.Read(start * size, bytes);
        ValueDecoder.Decode(tensor.Type, bytes, values.AsSpan(0, n), floats);
    }
}
