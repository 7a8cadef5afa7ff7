using Dsoup.Engine;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Architecture;
using Dsoup.Models.Modules;

namespace Dsoup.Models.TextEncoders;

/// <summary>
/// transformers' CLIPTextModel, weights under "text_model.*": token plus position embeddings, pre-LayerNorm
/// encoder layers with causal self-attention, a final LayerNorm; its output is the last hidden state (SD 1.x),
/// or for SD 2.x that of the 23-layer tower diffusers stores (OpenCLIP's penultimate layer).
/// </summary>
public sealed class ClipTextModel
{
    private readonly TextEncoderConfig config;
    private readonly Tensor tokenEmbedding;
    private readonly Tensor positionEmbedding;
    private readonly ClipEncoderLayer[] layers;
    private readonly LayerNorm finalNorm;

    public ClipTextModel(Weights w, TextEncoderConfig config)
    {
        this.config = config;
        Weights model = w.At("text_model");
        tokenEmbedding = model.Get("embeddings.token_embedding.weight", config.Vocabulary, config.Hidden);
        positionEmbedding = model.Get("embeddings.position_embedding.weight", config.Positions, config.Hidden);
        layers = Enumerable.Range(0, config.Layers).Select(i => new ClipEncoderLayer(model.At("encoder.layers").At(i), config)).ToArray();
        finalNorm = new LayerNorm(model.At("final_layer_norm"), config.Hidden, config.LayerNormEps);
        Device = w.Device;
    }

    public Engine.Devices.Device Device { get; }

    /// <summary>Hidden states [batch, tokens, hidden] for <paramref name="ids"/> (batch rows of equal length, concatenated).</summary>
    public Tensor Forward(int[] ids, int batch)
    {
        if (batch < 1 || ids.Length % batch != 0)
        {
            throw new ArgumentException($"{ids.Length} token ids do not split into {batch} prompts of equal length");
        }
        int tokens = ids.Length / batch;
        if (tokens > config.Positions)
        {
            throw new ArgumentException($"{tokens} tokens per prompt exceed the text encoder's {config.Positions} positions");
        }
        Tensor x = BlockMemory.Run(Device, () =>
        {
            Tensor embedded = Ops.Embedding(tokenEmbedding, ids).Reshape(batch, tokens, config.Hidden);
            Tensor positions = Ops.Repeat(Ops.Embedding(positionEmbedding, Enumerable.Range(0, tokens).ToArray()), 0, batch);
            return embedded + positions;
        });
        foreach (ClipEncoderLayer layer in layers)
        {
            Tensor input = x;
            x = BlockMemory.Run(Device, () => layer.Forward(input));
        }
        return BlockMemory.Run(Device, () => finalNorm.Forward(x));
    }
}
