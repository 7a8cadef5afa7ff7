namespace Dsoup.Models.Tests;

/// <summary>The architecture specs and key maps against every row of the reference key tables, both ways.</summary>
public class KeyTableTests
{
    public static TheoryData<string, string> Tables() => new()
    {
        { "keys_unet_sd15.tsv", "sd1" },
        { "keys_unet_sd21.tsv", "sd2" },
    };

    [SkippableTheory]
    [MemberData(nameof(Tables))]
    public void UNetKeysMapBothWaysAndSpecsMatchTheTable(string file, string family)
    {
        UNetConfig config = family == "sd1" ? UNetConfig.StableDiffusion1 : UNetConfig.StableDiffusion2;
        CheckComponent(ReferenceTables.Load(file), new UNetKeyMap(config), UNetParameters.For(config),
            family == "sd1" ? 859_520_964 : 865_910_724);
    }

    [SkippableFact]
    public void VaeKeysMapBothWaysAndSpecMatchesTheTable() =>
        CheckComponent(ReferenceTables.Load("keys_vae.tsv"), new VaeKeyMap(), VaeParameters.For(VaeConfig.StableDiffusion), 83_653_863);

    [SkippableFact]
    public void ClipLKeysMapBothWaysAndSpecMatchesTheTable() =>
        CheckComponent(ReferenceTables.Load("keys_clip_l_text_sd1.tsv"), new ClipKeyMap(), TextEncoderParameters.For(TextEncoderConfig.ClipL), 123_060_480);

    [SkippableFact]
    public void OpenClipKeysSplitTheirPackedProjections()
    {
        var rows = ReferenceTables.Load("keys_openclip_h_text_sd2_diffusers23.tsv");
        var map = new OpenClipKeyMap();
        foreach (var row in rows)
        {
            // "…attn.in_proj_weight[1024:2048, :]" is part 1 of 3; plain rows are part 0 of 1.
            string original = StripPrefix(row.Original.Split('[')[0], map.OriginalPrefix);
            int part = row.Original.Contains('[') ? int.Parse(row.Original.Split('[')[1].Split(':')[0]) / 1024 : 0;
            int parts = row.Original.Contains('[') ? 3 : 1;
            Assert.Equal(new KeyPart(original, part, parts), map.ToOriginal(row.Diffusers));
            Assert.Contains(new KeyPart(row.Diffusers, part, parts), map.ToDiffusers(original)!);
        }
        AssertSpecsEqual(rows, TextEncoderParameters.For(TextEncoderConfig.OpenClipH), 340_387_840);
    }

    [SkippableFact]
    public void EveryOpenClipTowerKeyHasADiffusersPlaceExceptTheDroppedOnes()
    {
        var map = new OpenClipKeyMap();
        foreach (var (key, _) in ReferenceTables.LoadOriginal("keys_openclip_h_text_sd2_ldm.tsv"))
        {
            string local = StripPrefix(key, map.OriginalPrefix);
            bool dropped = local.StartsWith("transformer.resblocks.23.", StringComparison.Ordinal) || local is "text_projection" or "logit_scale";
            Assert.Equal(dropped, map.ToDiffusers(local) is null);
        }
    }

    private static void CheckComponent(IReadOnlyList<ReferenceTables.Row> rows, IComponentKeyMap map, IReadOnlyList<ParameterSpec> specs, long count)
    {
        foreach (var row in rows)
        {
            string original = StripPrefix(row.Original, map.OriginalPrefix);
            Assert.Equal(new KeyPart(original, 0, 1), map.ToOriginal(row.Diffusers));
            Assert.Equal([new KeyPart(row.Diffusers, 0, 1)], map.ToDiffusers(original)!);
            long[] originalShape = row.OriginalShape ?? row.Shape;
            Assert.Equal(originalShape, map.OriginalShape(row.Diffusers, row.Shape));
            Assert.Equal(row.Shape, map.DiffusersShape(original, originalShape));
        }
        AssertSpecsEqual(rows, specs, count);
    }

    private static void AssertSpecsEqual(IReadOnlyList<ReferenceTables.Row> rows, IReadOnlyList<ParameterSpec> specs, long count)
    {
        var expected = rows.ToDictionary(r => r.Diffusers, r => r.Shape);
        var actual = specs.ToDictionary(s => s.Name, s => s.Shape);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, shape) in expected)
        {
            Assert.True(shape.SequenceEqual(actual[name]), $"{name}: spec shape [{string.Join(", ", actual[name])}], table [{string.Join(", ", shape)}]");
        }
        Assert.Equal(count, specs.Sum(s => s.Count));
    }

    private static string StripPrefix(string key, string prefix)
    {
        Assert.StartsWith(prefix, key);
        return key[prefix.Length..];
    }
}
