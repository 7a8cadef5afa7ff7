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
}
