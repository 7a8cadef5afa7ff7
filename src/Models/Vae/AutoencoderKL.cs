using Dsoup.Engine;
using Dsoup.Engine.Devices;
using Dsoup.Engine.Memory;
using Dsoup.Engine.Tensors;
using Dsoup.Models.Architecture;
using Dsoup.Models.Modules;

namespace Dsoup.Models.Vae;

/// <summary>
/// diffusers' AutoencoderKL (identical in SD 1.x and 2.x): the encoder's moments through quant_conv give the
/// latent distribution's mean and log-variance (clamped to [−30, 20]); post_quant_conv, then the decoder.
/// Pixels are in [−1, 1]; the caller applies <see cref="VaeConfig.ScalingFactor"/>.
/// </summary>
public sealed class AutoencoderKL
{
    private readonly VaeConfig config;
    private readonly VaeEncoder? encoder;
    private readonly VaeDecoder decoder;
    private readonly Modules.Conv2d? quantConv;
    private readonly Modules.Conv2d postQuantConv;

    /// <param name="withEncoder">False to load only the decoder (text-to-image never encodes).</param>
    public AutoencoderKL(Weights w, VaeConfig config, bool withEncoder = true)
    {
        this.config = config;
        Device = w.Device;
        if (withEncoder)
        {
            encoder = new VaeEncoder(w.At("encoder"), config, config.NormGroups);
            quantConv = new Modules.Conv2d(w.At("quant_conv"), 2 * config.LatentChannels, 2 * config.LatentChannels, 1);
        }
        postQuantConv = new Modules.Conv2d(w.At("post_quant_conv"), config.LatentChannels, config.LatentChannels, 1);
        decoder = new VaeDecoder(w.At("decoder"), config, config.NormGroups);
    }

    public Device Device { get; }

    public VaeConfig Config => config;

    /// <summary>The latent distribution of <paramref name="pixels"/> [B, 3, H, W] in [−1, 1] (latents [B, latent, H/8, W/8]).</summary>
    public LatentDistribution Encode(Tensor pixels)
    {
        Tensor quantized = EncodeMoments(pixels);
        int latent = config.LatentChannels;
        var shape = new Shape(quantized.Shape[0], latent, quantized.Shape[2], quantized.Shape[3]);
        return new LatentDistribution(Ops.Narrow(quantized, 1, 0, latent).ToArray(), Ops.Narrow(quantized, 1, latent, latent).ToArray(), shape);
    }

    /// <summary>The distribution's moments as one tensor [B, 2·latent, H/8, W/8]: the mean's channels, then the log-variance's (unclamped; on the tape when one records).</summary>
    public Tensor EncodeMoments(Tensor pixels)
    {
        if (encoder is null || quantConv is null)
        {
            throw new InvalidOperationException("this VAE was loaded without its encoder");
        }
        Tensor moments = encoder.Forward(pixels);
        return BlockMemory.Run(Device, () => quantConv.Forward(moments));
    }

    /// <summary>Pixels [B, 3, 8h, 8w] (in [−1, 1] for a trained model) from an unscaled latent [B, latent, h, w].</summary>
    public Tensor Decode(Tensor latent)
    {
        Tensor x = BlockMemory.Run(Device, () => postQuantConv.Forward(latent));
        return decoder.Forward(x);
    }
}
