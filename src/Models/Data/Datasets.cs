namespace Dsoup.Models.Data;

/// <summary>The datasets <c>--data</c> names: a folder of captioned images, <c>fashion-mnist</c>, or <c>embedded</c>.</summary>
public static class Datasets
{
    public static IReadOnlyList<TrainingExample> Open(string spec) => spec switch
    {
        "embedded" => EmbeddedImages.Load(),
        "fashion-mnist" => FashionMnist.Load(),
        _ => ImageFolder.Load(spec),
    };
}
