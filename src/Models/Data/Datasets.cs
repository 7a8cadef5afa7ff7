namespace Dsoup.Models.Data;

/// <summary>
/// The datasets <c>--data</c> names: a folder of captioned images, <c>fashion-mnist</c>, or <c>embedded</c>; their
/// held-out splits for evaluation are <c>fashion-mnist:test</c> (the 10 000 test images) and <c>embedded:test</c>.
/// </summary>
public static class Datasets
{
    public static IReadOnlyList<TrainingExample> Open(string spec) => spec switch
    {
        "embedded" => EmbeddedImages.Load(),
        "embedded:test" => EmbeddedImages.Load(EmbeddedImages.TestCount, EmbeddedImages.TrainingCount),
        "fashion-mnist" => FashionMnist.Load(),
        "fashion-mnist:test" => FashionMnist.Load(test: true),
        _ => ImageFolder.Load(spec),
    };

    /// <summary>
    /// The examples whose captions contain every one of <paramref name="words"/> as a whole word (case-insensitive);
    /// a word "red|stripes" is matched by either alternative.
    /// </summary>
    public static IReadOnlyList<TrainingExample> WithCaptionWords(IReadOnlyList<TrainingExample> examples, IReadOnlyCollection<string> words)
    {
        if (words.Count == 0)
        {
            return examples;
        }
        return examples.Where(e =>
        {
            var captionWords = e.Caption.Split([' ', ',', '.', ';', ':', '!', '?'], StringSplitOptions.RemoveEmptyEntries);
            return words.All(w => w.Split('|').Any(alternative => captionWords.Contains(alternative, StringComparer.OrdinalIgnoreCase)));
        }).ToList();
    }
}
