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

    /// <summary>The three ingredients, as a tiny SD model or under plain names no layout knows.</summary>
    private string[] Inputs(bool plain) => plain
        ? [fixture.PlainVariant(1), fixture.PlainVariant(2), fixture.PlainVariant(3)]
        : [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3)];

    [Theory]
    [InlineData(new long[] { 1, 1, 1 }, false)]
    [InlineData(new long[] { 3, 1, 2 }, false)]
    [InlineData(new long[] { 1, 1, 1 }, true)]
    [InlineData(new long[] { 3, 1, 2 }, true)]
    public void ExactSoupsOfF16AreCorrectlyRoundedFromTheExactMean(long[] weights, bool plain)
    {
        string[] inputs = Inputs(plain);
        string output = fixture.File($"exact-{string.Join("", weights)}-{plain}.safetensors");
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
        if (plain)
        {
            Assert.Equal(SoupFixture.StoredNames(inputs[0]).Order(StringComparer.Ordinal), SoupFixture.StoredNames(output));
        }
    }

    /// <summary>
    /// Exact soups stored as bf16 and f32 (from inputs of those types, or f16 inputs with --dtype), three
    /// inputs so the divisor is no power of two: every fifth element against the exact rational mean,
    /// rounded by an oracle that shares no code with the engine.
    /// </summary>
    [Theory]
    [InlineData("bf16", null, new long[] { 1, 1, 1 })]
    [InlineData("f32", null, new long[] { 3, 1, 2 })]
    [InlineData("f16", "f32", new long[] { 1, 1, 1 })]
    [InlineData("f16", "bf16", new long[] { 3, 1, 2 })]
    [InlineData("bf16", "f32", new long[] { 2, 1, 1 })]
    public void ExactSoupsInBf16AndF32AreCorrectlyRounded(string inputType, string? outputType, long[] weights)
    {
        static StorageType Parse(string name) => name switch { "f16" => StorageType.F16, "bf16" => StorageType.BF16, _ => StorageType.F32 };
        StorageType input = Parse(inputType);
        string[] inputs = [fixture.Variant(1, input), fixture.Variant(2, input), fixture.Variant(3, input)];
        string output = fixture.File($"exact-{inputType}-{outputType}-{string.Join("", weights)}.safetensors");
        var options = weights.All(w => w == 1) ? new SoupOptions() : new SoupOptions { Method = SoupMethod.Weighted, Weights = weights.Select(w => (double)w).ToList() };
        if (outputType is not null)
        {
            options = options with { DType = Kernels.DTypeInfo.Parse(outputType) };
        }
        SoupFixture.Soup(inputs, output, options);
        StorageType expectedType = outputType is null ? input : Parse(outputType);
        (int mantissa, int minExponent) = expectedType == StorageType.F32 ? (23, -126) : (7, -126);
        var x = inputs.Select(SoupFixture.Values).ToArray();
        long total = weights.Sum();
        int checkedElements = 0;
        foreach (var (name, (values, type)) in SoupFixture.Values(output))
        {
            Assert.Equal(expectedType, type);
            for (int e = 0; e < values.Length; e += 5)
            {
                var sum = Dsoup.Tests.Shared.ExactRounding.WeightedSum(x.Select(m => m[name].Values[e]).ToArray(), weights);
                double expected = Dsoup.Tests.Shared.ExactRounding.Nearest(sum, Dsoup.Tests.Shared.ExactRounding.SumExponent, total, mantissa, minExponent);
                Assert.True(expected == values[e], $"{name}[{e}]: soup {values[e]:R}, exact mean rounds to {expected:R}");
                checkedElements++;
            }
        }
        Assert.True(checkedElements > 200_000);
    }

    public static TheoryData<string, bool> FloatMethods()
    {
        var data = new TheoryData<string, bool>();
        foreach (string method in new[] { "weighted", "task-arithmetic", "add-difference", "ties" })
        {
            data.Add(method, false);
            data.Add(method, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FloatMethods))]
    public void FloatMethodsMatchTheirFloat64Formulas(string methodName, bool plain)
    {
        SoupMethod method = SoupMethods.Parse(methodName);
        string baseModel = plain ? fixture.PlainVariant(0) : fixture.Variant(0);
        string[] inputs = Inputs(plain);
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
        string output = fixture.File($"{methodName}-{plain}.safetensors");
        SoupFixture.Soup(inputs, output, options, method.NeedsBase() ? baseModel : null);
        var x = inputs.Select(SoupFixture.Values).ToArray();
        var theta0 = SoupFixture.Values(baseModel);
        var soup = SoupFixture.Values(output);
        foreach (var (name, (values, type)) in soup)
        {
            Assert.Equal(StorageType.F32, type);
            double[][] inputsOf = x.Select(m => m[name].Values).ToArray();
            double[] expected = Reference(method, options, inputsOf, theta0[name].Values);
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
        if (plain)
        {
            Assert.Equal(SoupFixture.StoredNames(inputs[0]).Order(StringComparer.Ordinal), SoupFixture.StoredNames(output));
        }
    }

    /// <summary>
    /// DARE keeps each task-vector element with probability 1 − p and rescales it by 1/(1 − p). The oracle
    /// does not know the engine's random draws: for every element it finds the one keep/drop pattern of the
    /// three inputs that explains the output, then checks the drop rate, the independence of the inputs'
    /// draws, and that the seed (and only the seed) decides them.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DareDropsAtItsRateAndRescalesWhatItKeeps(bool plain)
    {
        string baseModel = plain ? fixture.PlainVariant(0) : fixture.Variant(0);
        string[] inputs = Inputs(plain);
        double[] w = [0.5, 1.25, 0.75];
        const double Lambda = 0.8, P = 0.4;
        var options = new SoupOptions { Method = SoupMethod.Dare, Weights = [.. w], Lambda = Lambda, DropRate = P, Seed = 11, DType = Kernels.DType.F32 };
        string output = fixture.File($"dare-{plain}.safetensors");
        SoupFixture.Soup(inputs, output, options, baseModel);
        var x = inputs.Select(SoupFixture.Values).ToArray();
        var theta0 = SoupFixture.Values(baseModel);
        long decided = 0;
        var dropped = new long[3];
        long bothDropped = 0;
        foreach (var (name, (values, _)) in SoupFixture.Values(output))
        {
            for (int e = 0; e < values.Length; e++)
            {
                double t0 = theta0[name].Values[e];
                double[] delta = x.Select(m => m[name].Values[e] - t0).ToArray();
                var candidates = Enumerable.Range(0, 8).Select(mask =>
                    (Mask: mask, Value: t0 + Enumerable.Range(0, 3).Sum(i => (mask >> i & 1) * Lambda * w[i] * delta[i] / (1 - P)))).ToList();
                // As in the other methods' check: one f32 ulp, or f64 precision of the operands where terms cancel.
                double scale = Math.Max(Math.Abs(t0), x.Max(m => Math.Abs(m[name].Values[e])));
                bool Explains(double candidate)
                {
                    float reference = (float)candidate, actual = (float)values[e];
                    return reference == actual || MathF.BitIncrement(reference) == actual || MathF.BitDecrement(reference) == actual
                        || Math.Abs(actual - candidate) <= 1e-15 * scale;
                }
                var matches = candidates.Where(c => Explains(c.Value)).ToList();
                Assert.True(matches.Count > 0, $"dare {name}[{e}] = {values[e]:R} is no keep/drop pattern of its inputs");
                if (matches.Count > 1)
                {
                    continue; // a zero or tiny delta: the draw cannot be read off this element
                }
                decided++;
                int kept = matches[0].Mask;
                for (int i = 0; i < 3; i++)
                {
                    dropped[i] += 1 - (kept >> i & 1);
                }
                bothDropped += (kept & 3) == 0 ? 1 : 0;
            }
        }
        Assert.True(decided > 500_000, $"only {decided} elements decided their draws");
        foreach (long d in dropped)
        {
            // Binomial: σ = √(p(1 − p)/n) < 0.0007 here; 0.01 is over 14σ.
            Assert.InRange((double)d / decided, P - 0.01, P + 0.01);
        }
        Assert.InRange((double)bothDropped / decided, P * P - 0.01, P * P + 0.01);

        string again = fixture.File($"dare-{plain}-again.safetensors"), otherSeed = fixture.File($"dare-{plain}-seed12.safetensors");
        SoupFixture.Soup(inputs, again, options, baseModel);
        SoupFixture.Soup(inputs, otherSeed, options with { Seed = 12 }, baseModel);
        Assert.Equal(File.ReadAllBytes(output), File.ReadAllBytes(again));
        Assert.NotEqual(SoupFixture.Values(output).First().Value.Values, SoupFixture.Values(otherSeed).First().Value.Values);
    }

    private static double[] Reference(SoupMethod method, SoupOptions o, double[][] x, double[] theta0)
    {
        int n = x.Length, count = theta0.Length;
        double[] w = o.Weights?.ToArray() ?? [1, 1, 1];
        var result = new double[count];
        bool[][] keep = method == SoupMethod.Ties ? x.Select(xi => TopK(xi, theta0, (long)Math.Floor(o.Density * count))).ToArray() : [];
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
