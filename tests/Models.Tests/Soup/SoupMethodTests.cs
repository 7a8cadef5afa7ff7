using System.Numerics;
using Dsoup.Models.Soup;

namespace Dsoup.Models.Tests.Soup;

/// <summary>Every soup method against an independent float64 reference on small synthetic checkpoints.</summary>
public class SoupMethodTests : IClassFixture<SoupFixture>
{
    private readonly SoupFixture fixture;

    public SoupMethodTests(SoupFixture fixture) => this.fixture = fixture;

    /// <summary>The f16 nearest to the exact rational (Σ wᵢxᵢ)/W, ties to even: chosen by exact comparison among neighbours.</summary>
    private static double ExactF16Mean(double[] values, long[] weights)
    {
        // Each f16 value is k·2^-24 with |k| < 2^40: the weighted sum is an exact integer.
        BigInteger sum = 0;
        long total = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += weights[i] * new BigInteger(values[i] * 16777216.0);
            total += weights[i];
        }
        double guess = (double)(Half)((double)sum / total / 16777216.0);
        double best = double.NaN;
        BigInteger bestDistance = 0;
        foreach (double candidate in Neighbours(guess))
        {
            // |sum − total·c·2^24| compares distances exactly (c·2^24·4 is an integer for every f16 c).
            BigInteger distance = BigInteger.Abs(sum * 4 - total * new BigInteger(candidate * 16777216.0 * 4));
            bool better = double.IsNaN(best) || distance < bestDistance
                || (distance == bestDistance && (BitConverter.HalfToUInt16Bits((Half)candidate) & 1) == 0);
            if (better)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    private static IEnumerable<double> Neighbours(double value)
    {
        ushort bits = BitConverter.HalfToUInt16Bits((Half)value);
        foreach (int delta in new[] { -1, 0, 1 })
        {
            Half h = BitConverter.UInt16BitsToHalf((ushort)(bits + delta));
            if (Half.IsFinite(h) && ((bits & 0x7FFF) != 0 || delta >= 0))
            {
                yield return (double)h;
            }
        }
        yield return 0.0;
    }

    [Theory]
    [InlineData(new long[] { 1, 1, 1 })]
    [InlineData(new long[] { 3, 1, 2 })]
    public void ExactSoupsOfF16AreCorrectlyRoundedFromTheExactMean(long[] weights)
    {
        string[] inputs = [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3)];
        string output = fixture.File($"exact-{string.Join("", weights)}.safetensors");
        var options = weights.All(w => w == 1) ? new SoupOptions() : new SoupOptions { Method = SoupMethod.Weighted, Weights = weights.Select(w => (double)w).ToList() };
        SoupFixture.Soup(inputs, output, options);
        var x = inputs.Select(SoupFixture.Values).ToArray();
        var soup = SoupFixture.Values(output);
        int checkedElements = 0;
        foreach (var (name, (values, type)) in soup)
        {
            Assert.Equal(StorageType.F16, type);
            for (int e = 0; e < values.Length; e++)
            {
                double expected = ExactF16Mean(x.Select(m => m[name].Values[e]).ToArray(), weights);
                Assert.True(expected == values[e], $"{name}[{e}]: soup {values[e]:R}, exact mean rounds to {expected:R}");
                checkedElements++;
            }
        }
        Assert.True(checkedElements > 1_000_000);
    }

    public static TheoryData<string> FloatMethods() => ["weighted", "task-arithmetic", "dare", "add-difference", "ties"];

    [Theory]
    [MemberData(nameof(FloatMethods))]
    public void FloatMethodsMatchTheirFloat64Formulas(string methodName)
    {
        SoupMethod method = SoupMethods.Parse(methodName);
        string baseModel = fixture.Variant(0);
        string[] inputs = [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3)];
        var options = new SoupOptions
        {
            Method = method,
            Weights = method == SoupMethod.AddDifference ? null : [0.5, 1.25, 0.75],
            Lambda = 0.8,
            Density = 0.3,
            DropRate = 0.4,
            Seed = 11,
            Alpha = 0.6,
            DType = Kernels.DType.F32,
        };
        string output = fixture.File($"{methodName}.safetensors");
        SoupFixture.Soup(inputs, output, options, method.NeedsBase() ? baseModel : null);
        var x = inputs.Select(SoupFixture.Values).ToArray();
        var theta0 = SoupFixture.Values(baseModel);
        var soup = SoupFixture.Values(output);
        foreach (var (name, (values, type)) in soup)
        {
            Assert.Equal(StorageType.F32, type);
            double[][] inputsOf = x.Select(m => m[name].Values).ToArray();
            double[] expected = Reference(method, options, name, inputsOf, theta0[name].Values);
            for (int e = 0; e < values.Length; e++)
            {
                // The f64 formula may be summed in another order than the engine's: rounded to f32 they agree within
                // one ulp, or, where terms cancel, within f64 precision of the operands' magnitude.
                float reference = (float)expected[e], actual = (float)values[e];
                double scale = Math.Max(Math.Abs(theta0[name].Values[e]), inputsOf.Max(v => Math.Abs(v[e])));
                bool close = reference == actual || MathF.BitIncrement(reference) == actual || MathF.BitDecrement(reference) == actual
                    || Math.Abs(actual - expected[e]) <= 1e-15 * scale;
                Assert.True(close, $"{methodName} {name}[{e}]: soup {actual:R}, reference {reference:R}");
            }
        }
    }

    private static double[] Reference(SoupMethod method, SoupOptions o, string name, double[][] x, double[] theta0)
    {
        int n = x.Length, count = theta0.Length;
        double[] w = o.Weights?.ToArray() ?? [1, 1, 1];
        var result = new double[count];
        bool[][] keep = method == SoupMethod.Ties ? x.Select(xi => TopK(xi, theta0, (long)Math.Floor(o.Density * count))).ToArray() : [];
        uint nameHash = (uint)Dsoup.Models.Synthetic.SyntheticValues.StableHash(name);
        for (int e = 0; e < count; e++)
        {
            switch (method)
            {
                case SoupMethod.Weighted:
                    result[e] = Enumerable.Range(0, n).Sum(i => w[i] * x[i][e]) / w.Sum();
                    break;
                case SoupMethod.TaskArithmetic:
                    result[e] = theta0[e] + Enumerable.Range(0, n).Sum(i => o.Lambda * w[i] * (x[i][e] - theta0[e]));
                    break;
                case SoupMethod.Dare:
                    result[e] = theta0[e];
                    for (int i = 0; i < n; i++)
                    {
                        if (LinearMerger.Keeps(o.Seed, nameHash, i, e, o.DropRate))
                        {
                            result[e] += o.Lambda * w[i] * (x[i][e] - theta0[e]) / (1 - o.DropRate);
                        }
                    }
                    break;
                case SoupMethod.AddDifference:
                    result[e] = x[0][e] + o.Alpha * (x[1][e] - x[2][e]);
                    break;
                default:
                    double[] t = Enumerable.Range(0, n).Select(i => keep[i][e] ? x[i][e] - theta0[e] : 0).ToArray();
                    double sign = t.Sum() >= 0 ? 1 : -1;
                    double num = 0, den = 0;
                    for (int i = 0; i < n; i++)
                    {
                        if (t[i] != 0 && Math.Sign(t[i]) == sign)
                        {
                            num += w[i] * t[i];
                            den += w[i];
                        }
                    }
                    result[e] = theta0[e] + o.Lambda * (den != 0 ? num / den : 0);
                    break;
            }
        }
        return result;
    }

    /// <summary>The k entries of largest |x − θ₀|, ties by position (the first ones win): a plain stable sort.</summary>
    private static bool[] TopK(double[] x, double[] theta0, long k)
    {
        var order = Enumerable.Range(0, x.Length).OrderByDescending(i => Math.Abs(x[i] - theta0[i])).ThenBy(i => i).ToArray();
        var keep = new bool[x.Length];
        for (long j = 0; j < k; j++)
        {
            keep[order[j]] = true;
        }
        return keep;
    }
}
