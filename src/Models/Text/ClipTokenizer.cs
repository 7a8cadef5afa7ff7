using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Dsoup.Models.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer (OpenAI CLIP, as SD 1.x and 2.x use it) on Microsoft.ML.Tokenizers, read
/// from a model's <c>vocab.json</c> and <c>merges.txt</c>. Text is cleaned as CLIP does it (HTML entities
/// unescaped twice, runs of whitespace collapsed, lower case), split by CLIP's pattern (words, single
/// digits, runs of other symbols, English contractions), and each piece merged with a <c>&lt;/w&gt;</c>
/// end-of-word suffix. ftfy's mojibake repair is not applied (it changes only broken Unicode).
/// </summary>
public sealed partial class ClipTokenizer
{
    public const int StartToken = 49406;
    public const int EndToken = 49407;

    /// <summary>Tokens the text encoder reads: start, at most <see cref="MaxContentTokens"/>, end, padding.</summary>
    public const int ContextLength = 77;

    public const int MaxContentTokens = ContextLength - 2;

    private readonly BpeTokenizer bpe;

    private ClipTokenizer(BpeTokenizer bpe) => this.bpe = bpe;

    /// <summary>Reads <c>vocab.json</c> and <c>merges.txt</c> from <paramref name="folder"/> (a model's <c>tokenizer/</c> folder).</summary>
    public static ClipTokenizer FromFolder(string folder)
    {
        string vocabPath = Path.Combine(folder, "vocab.json"), mergesPath = Path.Combine(folder, "merges.txt");
        foreach (string path in new[] { vocabPath, mergesPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"{folder}: no {Path.GetFileName(path)}; a CLIP tokenizer folder holds vocab.json and merges.txt (a diffusers model's tokenizer/ folder, or --tokenizer DIR)", path);
            }
        }
        Dictionary<string, int> vocabulary;
        try
        {
            using FileStream stream = File.OpenRead(vocabPath);
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                ?? throw new InvalidDataException("the file holds JSON null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{vocabPath}: not a JSON object of token → id ({e.Message})", e);
        }
        if (!vocabulary.TryGetValue("<|startoftext|>", out int start) || start != StartToken
            || !vocabulary.TryGetValue("<|endoftext|>", out int end) || end != EndToken)
        {
            throw new InvalidDataException($"{vocabPath}: not CLIP's vocabulary (<|startoftext|> must be {StartToken} and <|endoftext|> {EndToken})");
        }
        return Create(vocabulary, File.ReadLines(mergesPath));
    }

    /// <summary>
    /// CLIP's tokenizer with no files: the merges are embedded in dsoup, and the vocabulary follows from them as
    /// openai/CLIP builds it — the 256 byte symbols, the same with "&lt;/w&gt;", each merge's result, then the start and
    /// end tokens. The same ids as any SD 1.x/2.x tokenizer folder (SD 2.x differs only in its padding).
    /// </summary>
    public static ClipTokenizer Embedded()
    {
        using Stream resource = typeof(ClipTokenizer).Assembly.GetManifestResourceStream("clip-merges.txt.gz")
            ?? throw new InvalidOperationException("dsoup was built without its embedded CLIP merges");
        using var reader = new StreamReader(new System.IO.Compression.GZipStream(resource, System.IO.Compression.CompressionMode.Decompress));
        var merges = new List<string>();
        while (reader.ReadLine() is string line)
        {
            merges.Add(line);
        }
        return Create(VocabularyFromMerges(merges.Where(IsMerge).ToList()), merges);
    }

    /// <summary>openai/CLIP's vocabulary from its merges: byte symbols (GPT-2's byte-to-unicode order), the same with &lt;/w&gt;, merges, specials.</summary>
    public static Dictionary<string, int> VocabularyFromMerges(IReadOnlyList<string> merges)
    {
        var bytes = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToList();
        var symbols = bytes.Select(b => (char)b).ToList();
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!bytes.Contains(b))
            {
                symbols.Add((char)(256 + extra++));
            }
        }
        var tokens = symbols.Select(c => c.ToString()).Concat(symbols.Select(c => c + "</w>")).Concat(merges.Select(m => m.Replace(" ", "", StringComparison.Ordinal))).ToList();
        if (tokens.Count != StartToken)
        {
            throw new InvalidDataException($"CLIP's merges should give {StartToken} tokens before the start token; these give {tokens.Count}");
        }
        tokens.Add("<|startoftext|>");
        tokens.Add("<|endoftext|>");
        return tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
    }

    private static bool IsMerge(string line) => line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal);

    private static ClipTokenizer Create(Dictionary<string, int> vocabulary, IEnumerable<string> merges)
    {
        var options = new BpeOptions(vocabulary)
        {
            Merges = merges.Where(IsMerge).ToList(),
            ByteLevel = true,
            EndOfWordSuffix = "</w>",
            PreTokenizer = new RegexPreTokenizer(Pieces(), null),
        };
        return new ClipTokenizer(BpeTokenizer.Create(options));
    }

    /// <summary>The ids of the text's tokens, without start and end.</summary>
    public IReadOnlyList<int> Tokenize(string text) => bpe.EncodeToIds(Clean(text));

    /// <summary>
    /// The text encoder's input: start, content (truncated to <see cref="MaxContentTokens"/>), end, then
    /// <paramref name="padding"/> (SD 1.x pads with the end token, SD 2.x with 0) up to <see cref="ContextLength"/>.
    /// </summary>
    public PromptTokens Encode(string text, int padding)
    {
        IReadOnlyList<int> content = Tokenize(text);
        var ids = new int[ContextLength];
        ids[0] = StartToken;
        int kept = Math.Min(content.Count, MaxContentTokens);
        for (int i = 0; i < kept; i++)
        {
            ids[1 + i] = content[i];
        }
        ids[1 + kept] = EndToken;
        Array.Fill(ids, padding, 2 + kept, ContextLength - 2 - kept);
        return new PromptTokens(ids, content.Count);
    }

    /// <summary>CLIP's clean-up: HTML entities unescaped twice, whitespace runs collapsed to one space, trimmed, lower case.</summary>
    public static string Clean(string text)
    {
        string unescaped = WebUtility.HtmlDecode(WebUtility.HtmlDecode(text));
        return Whitespace().Replace(unescaped, " ").Trim().ToLowerInvariant();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>CLIP's pre-tokenisation pattern (simple_tokenizer.py), case-insensitive.</summary>
    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase)]
    private static partial Regex Pieces();
}

/// <summary>
/// A prompt as the text encoder reads it: <see cref="ClipTokenizer.ContextLength"/> ids, and how many content
/// tokens the text had (more than <see cref="ClipTokenizer.MaxContentTokens"/> means it was truncated).
/// </summary>
public sealed record PromptTokens(int[] Ids, int ContentTokens)
{
    public bool Truncated => ContentTokens > ClipTokenizer.MaxContentTokens;
}
