"""Writes small seeded models in diffusers' own folder layout with their reference inputs and outputs, for
ModelFixtureTests (CI never runs this). Needs the reference oracle (shared/oracle):
    source $ORACLE/env.sh && /usr/bin/python3 make_model_fixtures.py

Folders (each a diffusers pipeline folder: unet/, vae/, text_encoder/ with config.json and safetensors):
  sd1-tiny  UNet2DConditionModel (16, 32) with 1×1-conv projections, CLIPTextModel with quick_gelu, AutoencoderKL
  sd2-tiny  UNet with linear projections and per-level heads, CLIPTextModel with gelu
Each folder's io.safetensors holds the inputs and outputs. Every parameter is drawn after torch.manual_seed:
weights from diffusers'/transformers' default init, then every norm weight 1 + N(0, 0.1²) and every bias
N(0, 0.1²), so that a layer reading a wrong tensor shows.
"""
import os

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

torch.set_num_threads(1)
here = os.path.dirname(os.path.abspath(__file__))


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif p.ndim == 1:
                p.copy_(1 + torch.randn(p.shape, generator=g) * 0.1)
    return model.eval()


def build(folder, linear_projection, heads, act, seed):
    out = os.path.join(here, folder)
    torch.manual_seed(seed)
    unet = perturb(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=2,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=24, attention_head_dim=heads, norm_num_groups=4, use_linear_projection=linear_projection,
        upcast_attention=linear_projection), seed + 1)
    text = perturb(CLIPTextModel(CLIPTextConfig(
        hidden_size=24, intermediate_size=37, num_hidden_layers=3, num_attention_heads=4, vocab_size=1000,
        max_position_embeddings=77, hidden_act=act, layer_norm_eps=1e-5)), seed + 2)
    vae = perturb(AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(16, 32), layers_per_block=1, latent_channels=4, norm_num_groups=4, sample_size=16), seed + 3)
    unet.save_pretrained(os.path.join(out, "unet"), safe_serialization=True)
    vae.save_pretrained(os.path.join(out, "vae"), safe_serialization=True)
    text.save_pretrained(os.path.join(out, "text_encoder"), safe_serialization=True)

    g = torch.Generator().manual_seed(seed + 4)
    ids = torch.randint(0, 1000, (2, 77), generator=g)
    latents = torch.randn(2, 4, 8, 8, generator=g)
    timesteps = torch.tensor([981.0, 20.5])
    context = torch.randn(2, 7, 24, generator=g)
    pixels = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    vae_latent = torch.randn(1, 4, 4, 4, generator=g)
    with torch.no_grad():
        io = {
            "text.ids": ids.to(torch.int32),
            "text.hidden": text(ids).last_hidden_state,
            "unet.sample": latents, "unet.timesteps": timesteps, "unet.context": context,
            "unet.out": unet(latents, timesteps, context).sample,
            "vae.pixels": pixels,
        }
        dist = vae.encode(pixels).latent_dist
        io["vae.mean"], io["vae.logvar"] = dist.mean, dist.logvar
        io["vae.latent"] = vae_latent
        io["vae.decoded"] = vae.decode(vae_latent).sample
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out, "io.safetensors"),
              metadata={"torch": torch.__version__, "script": "make_model_fixtures.py"})
    print(folder, {k: tuple(v.shape) for k, v in io.items()})


build("sd1-tiny", False, 2, "quick_gelu", 100)
build("sd2-tiny", True, (2, 4), "gelu", 200)
