using System.Text.Json;
using Dsoup.Models.Text;

namespace Dsoup.Models.Tests.Text;

/// <summary>The tokenizer against ../shared/clip: the real CLIP vocabulary and reference ids computed by CLIP's own tokenizer.</summary>
public class ClipTokenizerTests
{
    private static readonly string? Folder = SharedData.Find("clip");

    private static ClipTokenizer Load()
    {
        Skip.If(Folder is null, "../shared/clip (CLIP's vocabulary and reference ids) is not beside this checkout; the tokenizer tests need it");
        return ClipTokenizer.FromFolder(Folder!);
    }

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        string? folder = SharedData.Find("clip");
        int count = folder is null ? 1 : JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "cases.json"))).RootElement.GetArrayLength();
        for (int i = 0; i < count; i++)
        {
            data.Add(i);
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(CaseIndices))]
    public void ReproducesTheReferenceIds(int index)
    {
        ClipTokenizer tokenizer = Load();
        JsonElement reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder!, "cases.json"))).RootElement[index];
        string text = reference.GetProperty("text").GetString()!;
        int[] expected = reference.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        PromptTokens tokens = tokenizer.Encode(text, padding: ClipTokenizer.EndToken);
        Assert.Equal(expected, tokens.Ids.Take(expected.Length));
        Assert.All(tokens.Ids.Skip(expected.Length), id => Assert.Equal(ClipTokenizer.EndToken, id));
        Assert.Equal(expected.Length - 2, tokens.ContentTokens);
    }

    [SkippableTheory]
    [InlineData("a cat", new[] { 49406, 320, 2368, 49407 })]
    [InlineData("a photograph of an astronaut riding a horse", new[] { 49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407 })]
    [InlineData("open neural network exchange", new[] { 49406, 1488, 26388, 3304, 6616, 49407 })]
    [InlineData("! !! !!!", new[] { 49406, 256, 748, 995, 49407 })]
    // From openai/CLIP's simple_tokenizer.py with its own bpe_simple_vocab_16e6.txt.gz (ftfy.fix_text as the identity,
    // which these strings do not need): HTML entities unescaped twice, case folded, Unicode letters, non-breaking space.
    [InlineData("fish &amp;amp; chips", new[] { 49406, 2759, 261, 8855, 49407 })]
    [InlineData("ÜNÏCÖDÉ Çafé", new[] { 49406, 6522, 77, 35689, 66, 7255, 67, 4166, 10067, 702, 4166, 49407 })]
    [InlineData("hello\u00a0world", new[] { 49406, 3306, 1002, 49407 })]
    [InlineData("emoji 🐱 cat", new[] { 49406, 16327, 22979, 2368, 49407 })]
    [InlineData("don't STOP 1999", new[] { 49406, 847, 713, 1691, 272, 280, 280, 280, 49407 })]
    [InlineData("a,b;c--d", new[] { 49406, 320, 267, 321, 282, 322, 2432, 323, 49407 })]
    public void ReproducesTheIdsOfTheArchitectureReference(string text, int[] expected)
    {
        // The embedded tokenizer: it needs no files, and the ids come from openai/CLIP, not from it.
        Assert.Equal(expected, ClipTokenizer.Embedded().Encode(text, padding: 0).Ids.Take(expected.Length));
        if (Folder is not null)
        {
            Assert.Equal(expected, Load().Encode(text, padding: 0).Ids.Take(expected.Length));
        }
    }

    [SkippableFact]
    public void TheVocabularyBuiltFromTheEmbeddedMergesIsCLIPsVocabulary()
    {
        Skip.If(Folder is null, "../shared/clip (CLIP's vocab.json) is not beside this checkout");
        var expected = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(Folder!, "vocab.json")))!;
        var merges = File.ReadLines(Path.Combine(Folder!, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
        Dictionary<string, int> built = ClipTokenizer.VocabularyFromMerges(merges);
        Assert.Equal(expected.Count, built.Count);
        Assert.All(expected, e => Assert.Equal(e.Value, built[e.Key]));
    }

    [SkippableFact]
    public void SdTwoPadsWithZeroAndLongPromptsAreTruncatedToSeventyFiveTokens()
    {
        ClipTokenizer tokenizer = Load();
        PromptTokens shortPrompt = tokenizer.Encode("a cat", padding: 0);
        Assert.Equal(ClipTokenizer.ContextLength, shortPrompt.Ids.Length);
        Assert.All(shortPrompt.Ids.Skip(4), id => Assert.Equal(0, id));

        string longText = string.Join(' ', Enumerable.Repeat("cat", 80));
        PromptTokens tokens = tokenizer.Encode(longText, padding: ClipTokenizer.EndToken);
        Assert.True(tokens.Truncated);
        Assert.Equal(80, tokens.ContentTokens);
        Assert.Equal(ClipTokenizer.StartToken, tokens.Ids[0]);
        Assert.All(tokens.Ids.Skip(1).Take(75), id => Assert.Equal(2368, id));
        Assert.Equal(ClipTokenizer.EndToken, tokens.Ids[76]);
    }

    [Fact]
    public void AFolderWithoutVocabularyIsNamedInTheError()
    {
        string folder = Directory.CreateTempSubdirectory("dsoup-tok").FullName;
        var e = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFolder(folder));
        Assert.Contains("vocab.json", e.Message);
        Assert.Contains(folder, e.Message);
    }
}
