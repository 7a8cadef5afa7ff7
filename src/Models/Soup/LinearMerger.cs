using Dsoup.Kernels.Random;
using Dsoup.Models.Lora;
using Dsoup.Models.Synthetic;

namespace Dsoup.Models.Soup;

/// <summary>
/// The float64 methods, each element computed in a fixed order and rounded once:
/// weighted Σ wᵢθᵢ / Σ wᵢ (non-integer weights); task arithmetic θ₀ + Σ λwᵢ(θᵢ − θ₀);
/// DARE θ₀ + Σ λwᵢ·mᵢ(θᵢ − θ₀)/(1 − p); add difference A + α(B − C); then any LoRA updates.
/// Sources in a chunk are the inputs in order, then the base.
/// </summary>
internal sealed class LinearMerger(SoupOptions options, IReadOnlyList<double> weights, IReadOnlyList<SoupIngredient> inputs, SoupIngredient? baseModel,
    LoraTargets? loras) : ITensorMerger
{
    private uint nameHash;
    private LoraDelta? delta;

    public void Begin(MergedTensor tensor)
    {
        nameHash = (uint)SyntheticValues.StableHash(tensor.Name);
        delta = loras?.DeltaFor(tensor.Name);
    }

    public bool ReadsItself(MergedTensor tensor) => false;

    public void Merge(ChunkData chunk, byte[] output)
    {
        int n = weights.Count;
        AllCores.For(ChunkBlocks.Count(chunk), block =>
        {
            (int start, int length) = ChunkBlocks.Range(chunk, block);
            double[][] values = ChunkBlocks.DecodeAll(chunk, start, length, n + (baseModel is null ? 0 : 1), inputs, baseModel);
            var result = ChunkBlocks.Scratch.Rounded.AsSpan(0, length);
            for (int e = 0; e < length; e++)
            {
                result[e] = Element(values, e, chunk.Job.Start + start + e);
            }
            delta?.AddTo(chunk.Job.Start + start, result);
            ChunkBlocks.Store(chunk, start, result, output);
        });
    }

    private double Element(double[][] x, int e, long index)
    {
        int n = weights.Count;
        switch (options.Method)
        {
            case SoupMethod.Uniform or SoupMethod.Weighted: // uniform lands here only with LoRAs on top
            {
                double sum = 0, total = 0;
                for (int i = 0; i < n; i++)
                {
                    sum += weights[i] * x[i][e];
                    total += weights[i];
                }
                return sum / total;
            }
            case SoupMethod.TaskArithmetic:
            {
                double theta = x[n][e];
                double acc = theta;
                for (int i = 0; i < n; i++)
                {
                    acc += options.Lambda * weights[i] * (x[i][e] - theta);
                }
                return acc;
            }
            case SoupMethod.Dare:
            {
                double theta = x[n][e];
                double acc = theta;
                for (int i = 0; i < n; i++)
                {
                    if (Keeps(i, index))
                    {
                        acc += options.Lambda * weights[i] * (x[i][e] - theta) / (1 - options.DropRate);
                    }
                }
                return acc;
            }
            default: // add difference
                return x[0][e] + options.Alpha * (x[1][e] - x[2][e]);
        }
    }

    /// <summary>DARE's mask: element g of input i survives when its Philox uniform is at least p.</summary>
    public static bool Keeps(ulong seed, uint nameHash, int input, long index, double dropRate)
    {
        ulong block = (ulong)index / 4;
        PhiloxBlock bits = Philox.Encrypt((uint)block, (uint)(block >> 32), (uint)input, nameHash, (uint)seed, (uint)(seed >> 32));
        return Philox.ToUnitFloat(bits.Lane((int)(index % 4))) >= dropRate;
    }

    private bool Keeps(int input, long index) => Keeps(options.Seed, nameHash, input, index, options.DropRate);
}
