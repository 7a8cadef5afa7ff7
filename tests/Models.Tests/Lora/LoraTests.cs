using Dsoup.Engine.Checkpoints;
using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Engine.Linalg;
using Dsoup.Models.Lora;
using Dsoup.Models.Soup;
using Dsoup.Models.Synthetic;
using Dsoup.Models.Tests.Soup;

namespace Dsoup.Models.Tests.Lora;

/// <summary>
/// LoRA into a checkpoint and LoRA + LoRA, against float64 references built here from the factors:
/// ΔW = Σ strength · (α/r) · B·A, element by element.
/// </summary>
public sealed class LoraTests : IDisposable
{
    private readonly SoupFixture fixture = new();

    [Fact]
    public void ApplyAddsScaledProductOfFactorsRoundedOnce()
    {
        string model = fixture.Variant(0);
        string first = Lora("a", rank: 4, alpha: 2, seed: 1);
        string second = Lora("b", rank: 8, alpha: 8, seed: 2, convention: LoraConvention.Peft);
        string output = fixture.File("patched.safetensors");
        Apply(model, output, (first, 1.0), (second, 0.3));

        var before = SoupFixture.Values(model);
        var after = SoupFixture.Values(output);
        var expected = new Dictionary<string, double[]>(StringComparer.Ordinal);
        // α/r as the files were written: 2/4 and 8/8 (literals, not the code's reading of them).
        foreach (var (path, strength, scale) in new[] { (first, 1.0, 0.5), (second, 0.3, 1.0) })
        {
            using LoraFile lora = LoraFile.Open(path);
            foreach (LoraModule module in lora.Modules)
            {
                string target = TargetOf(before.Keys, module.Id);
                double[] delta = expected.TryGetValue(target, out var d) ? d : expected[target] = new double[before[target].Values.Length];
                AddDense(delta, module, strength * scale);
            }
        }
        Assert.Equal(154, expected.Count);
        foreach (var (name, (values, type)) in before)
        {
            double[] delta = expected.GetValueOrDefault(name) ?? new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double reference = values[i] + delta[i];
                double got = after[name].Values[i];
                Assert.True(Math.Abs(got - reference) <= HalfUlp(reference) * 1.0001 + 1e-12,
                    $"{name}[{i}]: {got} vs exact {reference} (Δ {delta[i]})");
            }
        }
    }

    /// <summary>
    /// Literal PEFT keys as other tools write them ("unet.…", "text_model.…" with its α as "text_encoder.….alpha",
    /// "base_model.model.…"), with and without α, on an SD model and on a plain one:
    /// W' = W + (α/r)·B·A (scale 1 without α), against a product computed here from the factors' values.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LiteralPeftKeysPatchAtAlphaOverRankOrOneWithoutAlpha(bool plain)
    {
        string model = plain ? fixture.PlainVariant(0) : fixture.Variant(0);
        var values = SoupFixture.Values(model);
        string toQ = plain ? values.Keys.First(k => values[k].Values.Length == 32 * 32) : "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight";
        string toV = plain ? values.Keys.Last(k => values[k].Values.Length == 32 * 32) : "text_encoder.text_model.encoder.layers.0.self_attn.v_proj.weight";
        string q = toQ[..^".weight".Length], v = plain ? toV[..^".weight".Length] : "text_model.encoder.layers.0.self_attn.v_proj";
        const int Rank = 2, Width = 32;
        double[] downQ = Factor(Rank * Width, 1), upQ = Factor(Width * Rank, 2), downV = Factor(Rank * Width, 3), upV = Factor(Width * Rank, 4);
        string path = fixture.File($"literal-peft-{plain}.safetensors");
        string qPrefix = plain ? "base_model.model." + q : q;
        WriteF32(path,
            ($"{qPrefix}.lora_A.weight", [Rank, Width], downQ), ($"{qPrefix}.lora_B.weight", [Width, Rank], upQ),
            ($"{v}.lora_A.weight", [Rank, Width], downV), ($"{v}.lora_B.weight", [Width, Rank], upV),
            ($"{(plain ? "base_model.model." + v : "text_encoder." + v)}.alpha", [], [0.5]));
        string output = fixture.File($"literal-peft-{plain}-out.safetensors");
        Apply(model, output, (path, 1.0));
        var after = SoupFixture.Values(output);
        foreach (var (name, down, up, scale) in new[] { (toQ, downQ, upQ, 1.0), (toV, downV, upV, 0.5 / Rank) })
        {
            for (int o = 0; o < Width; o++)
            {
                for (int c = 0; c < Width; c++)
                {
                    double product = 0;
                    for (int k = 0; k < Rank; k++)
                    {
                        product += up[o * Rank + k] * down[k * Width + c];
                    }
                    double reference = values[name].Values[o * Width + c] + scale * product;
                    double got = after[name].Values[o * Width + c];
                    Assert.True(Math.Abs(got - reference) <= HalfUlp(reference) * 1.0001 + 1e-12, $"{name}[{o},{c}]: {got} vs {reference}");
                }
            }
        }
        var untouched = values.Keys.First(k => k != toQ && k != toV);
        Assert.Equal(values[untouched].Values, after[untouched].Values);
    }

    [Fact]
    public void OldDiffusersProcessorKeysAndSdxlTextEncoderNamesAreHandled()
    {
        string model = fixture.Variant(0);
        const string Block = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1";
        string processor = fixture.File("processor-lora.safetensors");
        WriteF32(processor, ($"{Block}.processor.to_out_lora.down.weight", [2, 32], Factor(64, 5)), ($"{Block}.processor.to_out_lora.up.weight", [32, 2], Factor(64, 6)));
        string output = fixture.File("processor-out.safetensors");
        Apply(model, output, (processor, 1.0));
        var before = SoupFixture.Values(model);
        var after = SoupFixture.Values(output);
        Assert.NotEqual(before[$"{Block}.to_out.0.weight"].Values, after[$"{Block}.to_out.0.weight"].Values);
        // An SDXL text-encoder LoRA (lora_te1_…) has nothing to patch in an SD 1.x model: refused, by name.
        string sdxl = fixture.File("te1-lora.safetensors");
        WriteF32(sdxl, ("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", [2, 32], Factor(64, 7)),
            ("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", [32, 2], Factor(64, 8)));
        var error = Assert.Throws<InvalidDataException>(() => Apply(model, fixture.File("never.safetensors"), (sdxl, 1.0)));
        Assert.Contains("match no tensor of the model", error.Message);
    }

    private static double[] Factor(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Math.Round((random.NextDouble() - 0.5) * 1024) / 1024).ToArray(); // exact in f32
    }

    private static void WriteF32(string path, params (string Name, long[] Shape, double[] Values)[] tensors)
    {
        using var writer = SafetensorsWriter.Create(path, tensors.Select(t => new TensorHeader(t.Name, StorageType.F32, t.Shape)).ToList(), null);
        foreach (var t in tensors)
        {
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Values.Select(v => (float)v).ToArray().AsSpan()));
        }
        writer.Commit();
    }

    [Fact]
    public void KohyaAndPeftNamingsOfOneLoraPatchTheSameBytes()
    {
        string model = fixture.Variant(1);
        string kohya = Lora("k", rank: 4, alpha: 4, seed: 3);
        string peft = fixture.File("k-peft.safetensors");
        ToPeftNames(fixture.Variant(0), kohya, peft);
        string a = fixture.File("via-kohya.safetensors"), b = fixture.File("via-peft.safetensors");
        Apply(model, a, (kohya, 0.5));
        Apply(model, b, (peft, 0.5));
        AssertSameData(a, b);
    }

    [Fact]
    public void ConcatMergeIsExactAndSumsOfFactorsAreNot()
    {
        string model = fixture.Variant(2);
        string first = Lora("c1", rank: 4, alpha: 2, seed: 4);
        string second = Lora("c2", rank: 6, alpha: 6, seed: 5);
        string merged = fixture.File("concat.safetensors");
        using (var l1 = LoraFile.Open(first))
        using (var l2 = LoraFile.Open(second))
        {
            LoraMergeResult result = LoraMerge.Run([new SoupLora(l1, 1), new SoupLora(l2, 0.5)], merged, new LoraMergeOptions(LoraMergeMethod.Concat));
            Assert.All(result.Modules, m => Assert.Equal(10, m.OutputRank));
            Assert.Equal(0, result.DroppedEnergy);
        }
        // Strengths and α/r are powers of two here, so the stored factors are exact and the patch is bit for bit the same.
        string direct = fixture.File("direct.safetensors"), viaMerge = fixture.File("via-merge.safetensors");
        Apply(model, direct, (first, 1), (second, 0.5));
        Apply(model, viaMerge, (merged, 1));
        AssertSameData(direct, viaMerge);

        // The naive merge (Σ B)(Σ A) differs from Σ B·A by the cross terms: guard that the test could tell.
        using var a = LoraFile.Open(first);
        using var b = LoraFile.Open(Lora("c3", rank: 4, alpha: 4, seed: 6));
        LoraModule ma = a.Modules[0], mb = b.Modules.First(m => m.Id == ma.Id);
        Matrix naive = Sum(ma.ReadUp(), mb.ReadUp()).Multiply(Sum(ma.ReadDown(), mb.ReadDown()));
        Matrix exact = Sum(ma.ReadUp().Multiply(ma.ReadDown()), mb.ReadUp().Multiply(mb.ReadDown()));
        Assert.True(Math.Sqrt(Difference(naive, exact).SquaredNorm()) > 1e-3 * Math.Sqrt(exact.SquaredNorm()));
    }

    [Fact]
    public void SvdMergeIsTheBestLowRankApproximationAndReportsWhatItDrops()
    {
        string first = Lora("s1", rank: 4, alpha: 4, seed: 7);
        string second = Lora("s2", rank: 4, alpha: 2, seed: 8);
        string full = fixture.File("svd-full.safetensors"), reduced = fixture.File("svd-3.safetensors");
        using var l1 = LoraFile.Open(first);
        using var l2 = LoraFile.Open(second);
        SoupLora[] inputs = [new SoupLora(l1, 1), new SoupLora(l2, -0.7)];
        LoraMergeResult exact = LoraMerge.Run(inputs, full, new LoraMergeOptions(LoraMergeMethod.Svd, 8, StorageType.F64));
        LoraMergeResult cut = LoraMerge.Run(inputs, reduced, new LoraMergeOptions(LoraMergeMethod.Svd, 3, StorageType.F64));
        Assert.True(exact.DroppedFraction < 1e-20);
        Assert.InRange(cut.DroppedFraction, 1e-3, 0.99);

        using var fullFile = LoraFile.Open(full);
        using var cutFile = LoraFile.Open(reduced);
        foreach (LoraModule m1 in l1.Modules.Take(12))
        {
            LoraModule m2 = l2.Modules.Single(m => m.Id == m1.Id);
            Matrix reference = Sum(Scaled(m1.ReadUp().Multiply(m1.ReadDown()), m1.Scale), Scaled(m2.ReadUp().Multiply(m2.ReadDown()), -0.7 * m2.Scale));
            LoraModule f = fullFile.Modules.Single(m => m.Id == m1.Id), c = cutFile.Modules.Single(m => m.Id == m1.Id);
            Matrix rebuilt = f.ReadUp().Multiply(f.ReadDown());
            Assert.True(Difference(rebuilt, reference).SquaredNorm() <= 1e-24 * Math.Max(1e-30, reference.SquaredNorm()) + 1e-30);

            // Eckart–Young: the rank-3 error is the energy of the dropped singular values of the dense update.
            double[] sigma = JacobiSvd.Decompose(reference).S;
            double dropped = sigma.Skip(3).Sum(s => s * s);
            double error = Difference(c.ReadUp().Multiply(c.ReadDown()), reference).SquaredNorm();
            Assert.Equal(dropped, error, Math.Max(1e-12, dropped * 1e-8));
            LoraModuleReport report = cut.Modules.Single(m => m.Module == m1.Id);
            Assert.Equal(dropped, report.DroppedEnergy, Math.Max(1e-12, dropped * 1e-8));
            Assert.Equal(reference.SquaredNorm(), report.Energy, reference.SquaredNorm() * 1e-10);
        }
    }

    [Fact]
    public void LoraForAnotherModelIsRefusedBeforeAnythingIsWritten()
    {
        string model = fixture.Variant(3);
        string foreign = fixture.File("foreign.safetensors");
        using (var writer = SafetensorsWriter.Create(foreign,
            [
                new TensorHeader("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight", StorageType.F32, [2, 320]),
                new TensorHeader("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight", StorageType.F32, [320, 2]),
                new TensorHeader("lora_unet_no_such_layer.lora_down.weight", StorageType.F32, [2, 8]),
                new TensorHeader("lora_unet_no_such_layer.lora_up.weight", StorageType.F32, [8, 2]),
            ], null))
        {
            writer.Write(new byte[(2 * 320 * 2 + 2 * 8 * 2) * 4]);
            writer.Commit();
        }
        string output = fixture.File("never.safetensors");
        var error = Assert.Throws<InvalidDataException>(() => Apply(model, output, (foreign, 1)));
        Assert.Contains("no_such_layer", error.Message);
        Assert.Contains("to_q", error.Message); // wrong shape for the tiny model
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(output + SafetensorsWriter.PartialSuffix));
    }

    public static TheoryData<string, string, (string Name, long[] Shape)[]> MalformedModules() => new()
    {
        { "up columns are not the rank", "lora-shape", [("lora_unet_x.lora_down.weight", [2, 4]), ("lora_unet_x.lora_up.weight", [3, 5])] },
        { "a 3-D factor", "lora-shape", [("lora_unet_x.lora_down.weight", [2, 4, 1]), ("lora_unet_x.lora_up.weight", [3, 2])] },
        { "α of zero", "lora-alpha", [("lora_unet_x.lora_down.weight", [2, 4]), ("lora_unet_x.lora_up.weight", [3, 2]), ("lora_unet_x.alpha", [])] },
        { "α of two values", "lora-alpha", [("lora_unet_x.lora_down.weight", [2, 4]), ("lora_unet_x.lora_up.weight", [3, 2]), ("lora_unet_x.alpha", [2])] },
    };

    [Theory]
    [MemberData(nameof(MalformedModules))]
    public void MalformedModulesGetNamedErrors(string what, string rule, (string Name, long[] Shape)[] tensors)
    {
        string path = fixture.File($"bad-module-{what.Replace(' ', '-')}.safetensors");
        WriteF32(path, tensors.Select(t => (t.Name, t.Shape, new double[t.Shape.Aggregate(1L, (a, d) => a * d)])).ToArray());
        var error = Assert.Throws<CheckpointFormatException>(() => LoraFile.Open(path).Dispose());
        Assert.True(error.Rule == rule, $"{what}: rule {error.Rule}, message {error.Message}");
        Assert.Contains("lora_unet_x", error.Message);
    }

    [Theory]
    [InlineData("lora_unet_x.lora_down.weight", "half a module", "lora-pair")]
    [InlineData("lora_unet_x.hada_w1_a", "LoHa", "lora-variant")]
    [InlineData("model.diffusion_model.x.weight", "a checkpoint", "lora-keys")]
    public void MalformedLoraFilesGetNamedErrors(string key, string what, string rule)
    {
        string path = fixture.File($"bad-{rule}.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [new TensorHeader(key, StorageType.F32, [2, 4])], null))
        {
            writer.Write(new byte[32]);
            writer.Commit();
        }
        var error = Assert.Throws<CheckpointFormatException>(() => LoraFile.Open(path).Dispose());
        Assert.True(error.Rule == rule, $"{what}: rule {error.Rule}, message {error.Message}");
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void AMergeThatOverflowsItsStorageTypeIsRefusedAndNothingIsWritten()
    {
        string big = fixture.File("lora-big.safetensors");
        using (var model = Layouts.ModelCheckpoint.Open(fixture.Variant(0)))
        {
            SyntheticLora.Write(big, model, 2, LoraConvention.Kohya, 4, StorageType.F32, 2, scale: 1e5f); // factors far beyond f16's 65504
        }
        using var lora = LoraFile.Open(big);
        string merged = fixture.File("lora-big-merged.safetensors");
        var error = Assert.Throws<InvalidDataException>(() =>
            LoraMerge.Run([new SoupLora(lora, 1)], merged, new LoraMergeOptions(LoraMergeMethod.Concat, DType: StorageType.F16)));
        Assert.Contains("overflows", error.Message);
        Assert.Contains("--dtype f32", error.Message);
        Assert.False(File.Exists(merged));
        Assert.False(File.Exists(merged + SafetensorsWriter.PartialSuffix));
    }

    private string Lora(string name, int rank, double alpha, ulong seed, LoraConvention convention = LoraConvention.Kohya)
    {
        string path = fixture.File($"lora-{name}.safetensors");
        using var model = Layouts.ModelCheckpoint.Open(fixture.Variant(0));
        SyntheticLora.Write(path, model, rank, convention, seed, StorageType.F32, alpha);
        return path;
    }

    private static void Apply(string model, string output, params (string Path, double Strength)[] loras)
    {
        using var input = SoupIngredient.Open(model);
        var files = loras.Select(l => new SoupLora(LoraFile.Open(l.Path), l.Strength)).ToList();
        try
        {
            SoupPlan plan = SoupPlanner.Plan([input], null, null, new SoupOptions { Ema = Layouts.EmaPolicy.Keep }, files);
            SoupEngine.Run(plan, new SoupRunOptions(output) { Overwrite = true });
        }
        finally
        {
            files.ForEach(f => f.File.Dispose());
        }
    }

    /// <summary>Rewrites a kohya LoRA's keys in PEFT naming (unet.… with dots), keeping every byte.</summary>
    private static void ToPeftNames(string modelPath, string kohya, string peft)
    {
        using var model = Layouts.ModelCheckpoint.Open(modelPath);
        var byId = model.Tensors.Where(t => LoraKeys.IdOfTensor(t.Name) is not null).ToDictionary(t => LoraKeys.IdOfTensor(t.Name)!, t => t.Name[..^".weight".Length]);
        var tensors = CheckpointAssert.ReadAll(kohya);
        var kept = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        string Name(string key)
        {
            var (module, role, _) = LoraKeys.Parse(key)!.Value;
            return LoraKeys.TensorName(byId[module], role, LoraConvention.Peft);
        }
        using var writer = SafetensorsWriter.Create(peft, kept.Select(t => new TensorHeader(Name(t.Key), t.Value.Type, t.Value.Shape)).ToList(), null);
        foreach (var t in kept)
        {
            writer.Write(t.Value.Bytes);
        }
        writer.Commit();
    }

    private static string TargetOf(IEnumerable<string> names, string id) => names.Single(n => LoraKeys.IdOfTensor(n) == id);

    private static void AddDense(double[] delta, LoraModule module, double factor)
    {
        Matrix up = module.ReadUp(), down = module.ReadDown();
        for (int o = 0; o < up.Rows; o++)
        {
            for (int c = 0; c < down.Columns; c++)
            {
                double sum = 0;
                for (int k = 0; k < up.Columns; k++)
                {
                    sum += up[o, k] * down[k, c];
                }
                delta[(long)o * down.Columns + c] += factor * sum;
            }
        }
    }

    private static double HalfUlp(double value)
    {
        double magnitude = Math.Max(Math.Abs(value), Math.ScaleB(1, -14));
        return Math.ScaleB(1, (int)Math.Floor(Math.Log2(magnitude)) - 11);
    }

    private static Matrix Sum(Matrix a, Matrix b) => new(a.Rows, a.Columns, a.Values.Zip(b.Values, (x, y) => x + y).ToArray());

    private static Matrix Difference(Matrix a, Matrix b) => new(a.Rows, a.Columns, a.Values.Zip(b.Values, (x, y) => x - y).ToArray());

    private static Matrix Scaled(Matrix a, double factor) => new(a.Rows, a.Columns, a.Values.Select(x => x * factor).ToArray());

    private static void AssertSameData(string expected, string actual)
    {
        var e = CheckpointAssert.ReadAll(expected);
        var a = CheckpointAssert.ReadAll(actual);
        Assert.Equal(e.Keys.Order(StringComparer.Ordinal), a.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in e)
        {
            Assert.True(tensor.Bytes.AsSpan().SequenceEqual(a[name].Bytes), $"{name}: bytes differ");
        }
    }

    public void Dispose() => fixture.Dispose();
}
