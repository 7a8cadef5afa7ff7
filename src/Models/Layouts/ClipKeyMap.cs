namespace Dsoup.Models.Layouts;

/// <summary>
/// SD 1.x text encoder (OpenAI CLIP ViT-L/14): the same names in both layouts under
/// "cond_stage_model.transformer.". Files saved by recent transformers drop the "text_model." level;
/// both spellings are read as text_model.*.
/// </summary>
public sealed class ClipKeyMap : IComponentKeyMap
{
    private const string TextModel = "text_model.";

    public ModelComponent Component => ModelComponent.TextEncoder;

    public string OriginalPrefix => "cond_stage_model.transformer.";

    /// <summary>Adds the "text_model." level that newer transformers files leave out.</summary>
    public static string Normalize(string key) =>
        key.StartsWith(TextModel, StringComparison.Ordinal) || !(key.StartsWith("embeddings.", StringComparison.Ordinal)
            || key.StartsWith("encoder.layers.", StringComparison.Ordinal) || key.StartsWith("final_layer_norm.", StringComparison.Ordinal))
            ? key
            : TextModel + key;

    public IReadOnlyList<KeyPart>? ToDiffusers(string originalKey)
    {
        string key = Normalize(originalKey);
        return key.StartsWith(TextModel, StringComparison.Ordinal) && !key.EndsWith("position_ids", StringComparison.Ordinal)
            ? [new KeyPart(key, 0, 1)]
            : null;
    }

    public KeyPart? ToOriginal(string diffusersKey)
    {
        string key = Normalize(diffusersKey);
        return key.StartsWith(TextModel, StringComparison.Ordinal) ? new KeyPart(key, 0, 1) : null;
    }
}
