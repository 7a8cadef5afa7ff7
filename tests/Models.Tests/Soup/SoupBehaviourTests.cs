using Dsoup.Engine.Checkpoints.Safetensors;
using Dsoup.Models.Soup;

namespace Dsoup.Models.Tests.Soup;

public class SoupBehaviourTests : IClassFixture<SoupFixture>
{
    private readonly SoupFixture fixture;

    public SoupBehaviourTests(SoupFixture fixture) => this.fixture = fixture;

    private string Out(string name) => fixture.File(name);

    /// <summary>Soups of a, b, c and of a, c with states; removing b from the first, then adding it back, gives the rebuilt bytes.</summary>
    private void AssertRemoveAndAddMatchRebuilds(string a, string b, string c, string tag)
    {
        SoupFixture.Soup([a, b, c], Out($"{tag}abc.safetensors"), new SoupOptions(), state: Out($"{tag}abc.state"));
        SoupFixture.Soup([a, c], Out($"{tag}ac.safetensors"), new SoupOptions(), state: Out($"{tag}ac.state"));

        SoupStateUpdater.Apply(Out($"{tag}abc.state"), b, StateChange.Remove, null, Out($"{tag}abc-minus-b.safetensors"), overwrite: true);
        Assert.Equal(File.ReadAllBytes(Out($"{tag}ac.safetensors")), File.ReadAllBytes(Out($"{tag}abc-minus-b.safetensors")));
        Assert.Equal(File.ReadAllBytes(Out($"{tag}ac.state")), File.ReadAllBytes(Out($"{tag}abc.state")));

        SoupStateUpdater.Apply(Out($"{tag}abc.state"), b, StateChange.Add, null, Out($"{tag}readded.safetensors"), overwrite: true);
        Assert.Equal(File.ReadAllBytes(Out($"{tag}abc.safetensors")), File.ReadAllBytes(Out($"{tag}readded.safetensors")));
    }

    [Fact]
    public void RemoveAndAddGiveTheSameBytesAsRebuilding() => AssertRemoveAndAddMatchRebuilds(fixture.Variant(1), fixture.Variant(2), fixture.Variant(3), "");

    [Fact]
    public void PlainFilesSoupUnderTheirOwnNamesAndRemoveExactly()
    {
        string a = fixture.PlainVariant(1), b = fixture.PlainVariant(2), c = fixture.PlainVariant(3);
        AssertRemoveAndAddMatchRebuilds(a, b, c, "plain-");
        Assert.Equal(SoupFixture.StoredNames(a).Order(StringComparer.Ordinal), SoupFixture.StoredNames(Out("plain-abc.safetensors")));
    }

    [Fact]
    public void ASoupKeepsTheFirstInputsNamesUnlessALayoutIsAsked()
    {
        // Component-prefixed names of one component: the layout planner alone would strip "unet.".
        string a = fixture.PlainVariant(1, prefix: "unet."), b = fixture.PlainVariant(2, prefix: "unet.");
        SoupFixture.Soup([a, b], Out("prefixed.safetensors"), new SoupOptions());
        Assert.Equal(SoupFixture.StoredNames(a).Order(StringComparer.Ordinal), SoupFixture.StoredNames(Out("prefixed.safetensors")));
        Assert.All(SoupFixture.StoredNames(Out("prefixed.safetensors")), n => Assert.StartsWith("unet.t", n));
        // SD checkpoints keep theirs too, in either layout; --layout renames.
        string original = fixture.Variant(1), diffusers = fixture.Variant(2, layout: CheckpointLayout.Diffusers);
        SoupFixture.Soup([diffusers, original], Out("as-diffusers.safetensors"), new SoupOptions());
        Assert.Equal(SoupFixture.StoredNames(diffusers).Order(StringComparer.Ordinal), SoupFixture.StoredNames(Out("as-diffusers.safetensors")));
        SoupFixture.Soup([diffusers, original], Out("as-original.safetensors"), new SoupOptions { Layout = CheckpointLayout.Original });
        Assert.Equal(SoupFixture.StoredNames(original).Order(StringComparer.Ordinal), SoupFixture.StoredNames(Out("as-original.safetensors")));
    }

    [Fact]
    public void ASoupStateIsAtMostFourTimesTheF16Model()
    {
        string[] inputs = [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3)];
        SoupFixture.Soup(inputs, Out("sized.safetensors"), new SoupOptions(), state: Out("sized.state"));
        long model = new FileInfo(Out("sized.safetensors")).Length, state = new FileInfo(Out("sized.state")).Length;
        Assert.True(state <= 4 * model, $"state {state} bytes for a {model}-byte f16 soup ({(double)state / model:F2}×)");
    }

    [Fact]
    public void WeightedStatesRemoveExactlyToo()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2), c = fixture.Variant(3);
        SoupFixture.Soup([a, b, c], Out("w.safetensors"), new SoupOptions { Method = SoupMethod.Weighted, Weights = [3, 2, 1] }, state: Out("w.state"));
        SoupFixture.Soup([a, c], Out("w-ac.safetensors"), new SoupOptions { Method = SoupMethod.Weighted, Weights = [3, 1] });
        SoupStateUpdater.Apply(Out("w.state"), b, StateChange.Remove, null, Out("w-removed.safetensors"), overwrite: true);
        Assert.Equal(File.ReadAllBytes(Out("w-ac.safetensors")), File.ReadAllBytes(Out("w-removed.safetensors")));
    }

    [Fact]
    public void StateChangesRefuseModelsThatDoNotBelong()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2), stranger = fixture.Variant(9);
        SoupFixture.Soup([a, b], Out("ab.safetensors"), new SoupOptions(), state: Out("ab.state"));
        byte[] before = File.ReadAllBytes(Out("ab.state"));
        var notIn = Assert.Throws<InvalidDataException>(() => SoupStateUpdater.Apply(Out("ab.state"), stranger, StateChange.Remove, null, Out("x.safetensors")));
        Assert.Contains("is not an ingredient", notIn.Message);
        var twice = Assert.Throws<InvalidDataException>(() => SoupStateUpdater.Apply(Out("ab.state"), a, StateChange.Add, null, Out("y.safetensors")));
        Assert.Contains("already an ingredient", twice.Message);
        var wrongWeight = Assert.Throws<ArgumentException>(() => SoupStateUpdater.Apply(Out("ab.state"), a, StateChange.Remove, 2, Out("z.safetensors")));
        Assert.Contains("same weight", wrongWeight.Message);
        string other = fixture.File("other-family.safetensors");
        Synthetic.SyntheticCheckpoint.Write(other, new Synthetic.SyntheticOptions(ModelFamily.Tiny, Components: [ModelComponent.Unet]));
        Assert.Contains("does not match the soup state", Assert.Throws<InvalidDataException>(() => SoupStateUpdater.Apply(Out("ab.state"), other, StateChange.Add, null, Out("w.safetensors"))).Message);
        Assert.Equal(before, File.ReadAllBytes(Out("ab.state")));
        Assert.False(File.Exists(Out("x.safetensors")) || File.Exists(Out("y.safetensors")) || File.Exists(Out("z.safetensors")) || File.Exists(Out("w.safetensors")));
        Assert.Contains("not a soup state", Assert.Throws<InvalidDataException>(() => SoupStateUpdater.Apply(a, b, StateChange.Add, null, Out("v.safetensors"))).Message);
    }

    /// <summary>Rewrites a state file with one change: a tensor's bytes or shape, or its metadata.</summary>
    private static void RewriteState(string source, string target, Func<string, (StorageType Type, long[] Shape, byte[] Bytes), (StorageType, long[], byte[])> tensor,
        Func<string, string>? manifest = null)
    {
        Dictionary<string, string> metadata;
        List<string> order;
        using (var reader = SafetensorsReader.Open(source))
        {
            metadata = reader.Metadata.ToDictionary(m => m.Key, m => m.Value);
            order = reader.Tensors.Select(t => t.Name).ToList();
        }
        var tensors = CheckpointAssert.ReadAll(source);
        var edited = order.Select(n => (Name: n, Value: tensor(n, tensors[n]))).ToList();
        if (manifest is not null)
        {
            metadata[SoupStateManifest.MetadataKey] = manifest(metadata[SoupStateManifest.MetadataKey]);
        }
        using var writer = SafetensorsWriter.Create(target, edited.Select(e => new TensorHeader(e.Name, e.Value.Item1, e.Value.Item2)).ToList(), metadata);
        foreach (var e in edited)
        {
            writer.Write(e.Value.Item3);
        }
        writer.Commit();
    }

    [Fact]
    public void DamagedStatesAreRefusedByNameAndLeftAlone()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2), c = fixture.Variant(3);
        SoupFixture.Soup([a, b], Out("good.safetensors"), new SoupOptions(), state: Out("good.state"));
        byte[] good = File.ReadAllBytes(Out("good.state"));
        const string Conv = "sum/unet.conv_in.weight";
        var damage = new (string What, Action<string> Make, string Message)[]
        {
            ("truncated", p => File.WriteAllBytes(p, good[..(good.Length / 2)]), ""),
            ("manifest", p => RewriteState(Out("good.state"), p, (_, t) => t, m => m.Replace("\"total_weight\":", "\"total_weight\":\"x\",\"was\":")), "manifest is damaged"),
            ("version 1", p => RewriteState(Out("good.state"), p, (_, t) => t, m => m.Replace("\"version\":2", "\"version\":1")), "version 1 is not supported"),
            ("width", p => RewriteState(Out("good.state"), p, (n, t) => n == "blocks/unet.conv_in.weight" ? (t.Type, t.Shape, [.. t.Bytes[..4], 3, 0, 0, 0, .. t.Bytes[8..]]) : t), "claims 3 bytes per sum"),
            ("sum length", p => RewriteState(Out("good.state"), p, (n, t) => n == Conv ? (t.Type, [t.Shape[0] + 4], [.. t.Bytes, 0, 0, 0, 0]) : t), "add up to"),
        };
        foreach (var (what, make, message) in damage)
        {
            string path = Out($"damaged-{what.Replace(' ', '-')}.state");
            make(path);
            byte[] before = File.ReadAllBytes(path);
            string output = Out($"from-damaged-{what.Replace(' ', '-')}.safetensors");
            Exception error = Assert.ThrowsAny<Exception>(() => SoupStateUpdater.Apply(path, c, StateChange.Add, null, output));
            Assert.True(error is InvalidDataException or Engine.Checkpoints.CheckpointFormatException, $"{what}: {error.GetType().Name}: {error.Message}");
            Assert.Contains(path, error.Message);
            Assert.Contains(message, error.Message);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.False(File.Exists(output) || File.Exists(output + SafetensorsWriter.PartialSuffix), $"{what}: an output was left behind");
        }
    }

    [Fact]
    public void UniformSoupsDoNotDependOnInputOrderOrLayout()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2), c = fixture.Variant(3);
        SoupFixture.Soup([a, b, c], Out("o1.safetensors"), new SoupOptions());
        SoupFixture.Soup([c, a, b], Out("o2.safetensors"), new SoupOptions());
        Assert.Equal(File.ReadAllBytes(Out("o1.safetensors")), File.ReadAllBytes(Out("o2.safetensors")));
        // The same ingredients, one of them stored in the diffusers layout: same values, written in the first input's layout.
        string bDiffusers = fixture.Variant(2, layout: CheckpointLayout.Diffusers);
        SoupFixture.Soup([a, bDiffusers, c], Out("mixed.safetensors"), new SoupOptions());
        CheckpointAssert.SameTensors(Out("o1.safetensors"), Out("mixed.safetensors"));
    }

    [Fact]
    public void ChunkSizeDoesNotChangeTheResult()
    {
        string[] inputs = [fixture.Variant(1), fixture.Variant(2), fixture.Variant(3)];
        SoupFixture.Soup(inputs, Out("big-chunks.safetensors"), new SoupOptions { MaxMemory = 512L << 20 });
        SoupFixture.Soup(inputs, Out("small-chunks.safetensors"), new SoupOptions { MaxMemory = 30L << 20 });
        Assert.Equal(File.ReadAllBytes(Out("big-chunks.safetensors")), File.ReadAllBytes(Out("small-chunks.safetensors")));
        SoupFixture.Soup(inputs, Out("ties-big.safetensors"), new SoupOptions { Method = SoupMethod.Ties, MaxMemory = 512L << 20 }, fixture.Variant(0));
        SoupFixture.Soup(inputs, Out("ties-small.safetensors"), new SoupOptions { Method = SoupMethod.Ties, MaxMemory = 30L << 20 }, fixture.Variant(0));
        Assert.Equal(File.ReadAllBytes(Out("ties-big.safetensors")), File.ReadAllBytes(Out("ties-small.safetensors")));
    }

    [Fact]
    public void AnInterruptedMergeResumesToTheSameBytes()
    {
        string[] inputs = [fixture.Variant(1), fixture.Variant(2)];
        string straight = Out("straight.safetensors"), resumed = Out("resumed.safetensors");
        SoupFixture.Soup(inputs, straight, new SoupOptions());
        Assert.Throws<SoupInterruptedException>(() => SoupFixture.Soup(inputs, resumed, new SoupOptions(), interruptAfter: 300));
        Assert.False(File.Exists(resumed));
        Assert.True(File.Exists(resumed + ".partial") && File.Exists(resumed + ".partial.journal"));
        SoupResult result = SoupFixture.Soup(inputs, resumed, new SoupOptions());
        Assert.Equal(300, result.ResumedTensors);
        Assert.Equal(File.ReadAllBytes(straight), File.ReadAllBytes(resumed));
        Assert.False(File.Exists(resumed + ".partial.journal"));
    }

    [Fact]
    public void AResumeAfterTheInputsChangedStartsOver()
    {
        string a = fixture.Variant(1), b = Out("changing.safetensors");
        File.Copy(fixture.Variant(2), b, overwrite: true);
        string resumed = Out("changed-inputs.safetensors");
        Assert.Throws<SoupInterruptedException>(() => SoupFixture.Soup([a, b], resumed, new SoupOptions(), interruptAfter: 300));
        File.Copy(fixture.Variant(3), b, overwrite: true); // same name and size, other values
        SoupResult result = SoupFixture.Soup([a, b], resumed, new SoupOptions());
        Assert.Equal(0, result.ResumedTensors);
        SoupFixture.Soup([a, fixture.Variant(3)], Out("changed-straight.safetensors"), new SoupOptions());
        CheckpointAssert.SameTensors(Out("changed-straight.safetensors"), resumed);
    }

    [Fact]
    public void AnotherJobOnTheSameOutputNeitherResumesNorSplices()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2), c = fixture.Variant(3);
        string output = Out("shared-output.safetensors");
        Assert.Throws<SoupInterruptedException>(() => SoupFixture.Soup([a, b], output, new SoupOptions(), interruptAfter: 300));
        // A different job on the same path: its own soup, from the start.
        Assert.Throws<SoupInterruptedException>(() => SoupFixture.Soup([a, c], output, new SoupOptions(), interruptAfter: 200));
        // The first job again: the partial file is now the other job's, so nothing of it may be reused.
        SoupResult result = SoupFixture.Soup([a, b], output, new SoupOptions());
        Assert.Equal(0, result.ResumedTensors);
        SoupFixture.Soup([a, b], Out("shared-straight.safetensors"), new SoupOptions());
        Assert.Equal(File.ReadAllBytes(Out("shared-straight.safetensors")), File.ReadAllBytes(output));
    }

    [Fact]
    public void ACorruptedPartialFileResumesOnlyFromBeforeTheDamage()
    {
        string[] inputs = [fixture.Variant(1), fixture.Variant(2)];
        string output = Out("corrupted.safetensors");
        Assert.Throws<SoupInterruptedException>(() => SoupFixture.Soup(inputs, output, new SoupOptions(), interruptAfter: 300));
        // Damage one byte inside the first tensors' data (a bad disk sector, a stray write).
        using (var partial = new FileStream(output + SafetensorsWriter.PartialSuffix, FileMode.Open, FileAccess.ReadWrite))
        {
            long dataStart = 8 + BitConverter.ToInt64(File.ReadAllBytes(output + SafetensorsWriter.PartialSuffix).AsSpan(0, 8));
            partial.Position = dataStart + 1000;
            int original = partial.ReadByte();
            partial.Position = dataStart + 1000;
            partial.WriteByte((byte)(original ^ 0x40));
        }
        SoupResult result = SoupFixture.Soup(inputs, output, new SoupOptions());
        Assert.True(result.ResumedTensors < 300, $"resumed {result.ResumedTensors} tensors past the damage");
        SoupFixture.Soup(inputs, Out("corrupted-straight.safetensors"), new SoupOptions());
        Assert.Equal(File.ReadAllBytes(Out("corrupted-straight.safetensors")), File.ReadAllBytes(output));
    }

    [Fact]
    public void TheRecipeAndCommonMetadataAreRecorded()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2);
        SoupResult result = SoupFixture.Soup([a, b], Out("recipe.safetensors"), new SoupOptions { Method = SoupMethod.Weighted, Weights = [2, 1] });
        using var reader = SafetensorsReader.Open(Out("recipe.safetensors"));
        string recipe = reader.Metadata[SoupRecipe.MetadataKey];
        Assert.Contains("\"method\":\"weighted\"", recipe);
        Assert.Contains(result.InputHashes[0], recipe);
        Assert.Contains(result.InputHashes[1], recipe);
        Assert.DoesNotContain(ContentHashes.Placeholder, recipe);
        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.StartsWith("dsoup", reader.Metadata["dsoup.version"]);
    }

    [Fact]
    public void KeyPoliciesDecideWhatHappensToUnsharedTensors()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2);
        // A copy of b without its VAE.
        string partial = fixture.File("no-vae.safetensors");
        using (var checkpoint = ModelCheckpoint.Open(b))
        {
            Conversion.PlanWriter.Write(partial, LayoutPlanner.Original(checkpoint.Tensors.Where(t => t.Component != ModelComponent.Vae).ToList(), checkpoint.TextEncoder),
                p => p.Type, null, new Conversion.ConvertingCopy());
        }
        using var ia = SoupIngredient.Open(a);
        using var ip = SoupIngredient.Open(partial);
        SoupPlan strict = SoupPlanner.Plan([ia, ip], null, null, new SoupOptions());
        Assert.Contains(strict.Report.Conflicts, c => c.Contains("lacks 244 tensors", StringComparison.Ordinal));
        Assert.Throws<InvalidDataException>(() => SoupEngine.Run(strict, new SoupRunOptions(Out("strict.safetensors"))));
        Assert.False(File.Exists(Out("strict.safetensors")));

        SoupPlan intersection = SoupPlanner.Plan([ia, ip], null, null, new SoupOptions { KeyPolicy = KeyPolicy.Intersection });
        Assert.Empty(intersection.Report.Conflicts);
        Assert.DoesNotContain(intersection.Tensors, t => t.Name.StartsWith("vae.", StringComparison.Ordinal));

        SoupPlan noFallback = SoupPlanner.Plan([ia, ip], null, null, new SoupOptions { KeyPolicy = KeyPolicy.Union });
        Assert.Contains(noFallback.Report.Conflicts, c => c.Contains("needs a --fallback", StringComparison.Ordinal));
        using var fallback = SoupIngredient.Open(fixture.Variant(0));
        SoupPlan union = SoupPlanner.Plan([ia, ip], null, fallback, new SoupOptions { KeyPolicy = KeyPolicy.Union });
        Assert.Empty(union.Report.Conflicts);
        SoupEngine.Run(union, new SoupRunOptions(Out("union.safetensors")) { Overwrite = true });
        var soup = SoupFixture.Values(Out("union.safetensors"));
        var baseValues = SoupFixture.Values(fixture.Variant(0));
        Assert.Equal(baseValues["vae.decoder.conv_out.weight"].Values, soup["vae.decoder.conv_out.weight"].Values);
    }

    [Fact]
    public void BadArgumentsAndBadInputsAreRefusedWithReasons()
    {
        string a = fixture.Variant(1), b = fixture.Variant(2);
        using var ia = SoupIngredient.Open(a);
        using var ib = SoupIngredient.Open(b);
        Assert.Contains("3 weights given for 2 inputs", Assert.Throws<ArgumentException>(() => SoupPlanner.Plan([ia, ib], null, null, new SoupOptions { Method = SoupMethod.Weighted, Weights = [1, 2, 3] })).Message);
        Assert.Contains("needs --base", Assert.Throws<ArgumentException>(() => SoupPlanner.Plan([ia, ib], null, null, new SoupOptions { Method = SoupMethod.Ties })).Message);
        Assert.Contains("exactly 3 inputs", Assert.Throws<ArgumentException>(() => SoupPlanner.Plan([ia, ib], null, null, new SoupOptions { Method = SoupMethod.AddDifference })).Message);
        Assert.Contains("takes no weights", Assert.Throws<ArgumentException>(() => SoupPlanner.Plan([ia, ib], null, null, new SoupOptions { Weights = [1, 1] })).Message);

        // Different shapes for one tensor: reported, and nothing written.
        string inpainting = fixture.File("inpaint.safetensors");
        Synthetic.SyntheticCheckpoint.Write(inpainting, new Synthetic.SyntheticOptions(ModelFamily.TinyInpainting));
        using var ii = SoupIngredient.Open(inpainting);
        SoupPlan plan = SoupPlanner.Plan([ia, ii], null, null, new SoupOptions());
        Assert.Contains(plan.Report.Conflicts, c => c.Contains("'unet.conv_in.weight' has different shapes", StringComparison.Ordinal));

        // NaN in an input: a clear error naming the tensor and file; no partial output left.
        string poisoned = fixture.File("nan.safetensors");
        using (var checkpoint = ModelCheckpoint.Open(b))
        {
            var tensors = checkpoint.Tensors;
            Conversion.PlanWriter.Write(poisoned, LayoutPlanner.Original(tensors, checkpoint.TextEncoder), p => p.Type, null, new NaNInjector("unet.conv_out.bias"));
        }
        var error = Assert.Throws<InvalidDataException>(() => SoupFixture.Soup([a, poisoned], Out("nan-soup.safetensors"), new SoupOptions()));
        Assert.Contains("'unet.conv_out.bias' of nan.safetensors holds NaN", error.Message);
        Assert.False(File.Exists(Out("nan-soup.safetensors")) || File.Exists(Out("nan-soup.safetensors.partial")));

        // A truncated input is refused when opened.
        string truncated = fixture.File("truncated.safetensors");
        byte[] bytes = File.ReadAllBytes(a);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length - 100)]);
        Assert.Equal("MetadataIncompleteBuffer", Assert.Throws<Engine.Checkpoints.CheckpointFormatException>(() => SoupIngredient.Open(truncated)).Rule);
    }

    /// <summary>Copies tensors, writing NaN into one of them.</summary>
    private sealed class NaNInjector(string poisoned) : Conversion.ITensorProducer
    {
        private readonly Conversion.ConvertingCopy copy = new();

        public void Produce(ModelTensor tensor, StorageType type, SafetensorsWriter writer)
        {
            if (tensor.Name != poisoned)
            {
                copy.Produce(tensor, type, writer);
                return;
            }
            var nan = new ushort[tensor.ElementCount];
            Array.Fill(nan, (ushort)0x7E00);
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(nan.AsSpan()));
        }
    }
}
