using Dsoup.Engine;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Architecture;
using Dsoup.Models.Modules;

namespace Dsoup.Models.TextEncoders;

/// <summary>One CLIPEncoderLayer: x + out_proj(causal MHA(LN1(x))), then x + fc2(act(fc1(LN2(x)))).</summary>
internal sealed class ClipEncoderLayer(Weights w, TextEncoderConfig c)
{
    private readonly LayerNorm norm1 = new(w.At("layer_norm1"), c.Hidden, c.LayerNormEps);
    private readonly Linear query = new(w.At("self_attn.q_proj"), c.Hidden, c.Hidden);
    private readonly Linear key = new(w.At("self_attn.k_proj"), c.Hidden, c.Hidden);
    private readonly Linear value = new(w.At("self_attn.v_proj"), c.Hidden, c.Hidden);
    private readonly Linear output = new(w.At("self_attn.out_proj"), c.Hidden, c.Hidden);
    private readonly LayerNorm norm2 = new(w.At("layer_norm2"), c.Hidden, c.LayerNormEps);
    private readonly Linear fc1 = new(w.At("mlp.fc1"), c.Hidden, c.Intermediate);
    private readonly Linear fc2 = new(w.At("mlp.fc2"), c.Intermediate, c.Hidden);
    private readonly Func<Tensor, Tensor> activation = c.Activation switch
    {
        "quick_gelu" => Ops.QuickGelu,
        "gelu" => Ops.Gelu,
        _ => throw new NotSupportedException($"text encoder activation '{c.Activation}' is not supported (quick_gelu or gelu)"),
    };
    private readonly int heads = c.Heads;

    public Tensor Forward(Tensor x)
    {
        Tensor h = norm1.Forward(x);
        x = x + output.Forward(Ops.Attention(query.Forward(h), key.Forward(h), value.Forward(h), heads, causal: true));
        return x + fc2.Forward(activation(fc1.Forward(norm2.Forward(x))));
    }
}
