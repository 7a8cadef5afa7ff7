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
import json
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


# Pipelines over the same components (run after build(), which wrote them): prompt embeddings from fixed token ids
# (the tiny text encoder has a 1000-token vocabulary, so ids stand in for text), latents and every later draw
# from torch.Generator("cpu").manual_seed(seed), output_type "np" (pixels in [0, 1]). Image-to-image swaps the
# sampler the way diffusers users do, OtherScheduler.from_config(pipe.scheduler.config), so the folder's
# scheduler settings (its timestep_spacing among them) carry over.
from diffusers import (DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
                       PNDMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionPipeline)


def load(folder):
    out = os.path.join(here, folder)
    return (os.path.join(out), UNet2DConditionModel.from_pretrained(os.path.join(out, "unet")).eval(),
            AutoencoderKL.from_pretrained(os.path.join(out, "vae")).eval(),
            CLIPTextModel.from_pretrained(os.path.join(out, "text_encoder")).eval())


def pipelines(folder, scheduler, img2img_scheduler, batch, seed):
    out, unet, vae, text = load(folder)
    sd = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
              steps_offset=1, set_alpha_to_one=False, skip_prk_steps=True, clip_sample=False)
    scheduler = scheduler.from_config(sd)
    # Written as SD's own scheduler_config.json files are: only the keys set, so a setting left at a class's
    # default (timestep_spacing here) stays each sampler's own default when another sampler is swapped in.
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": scheduler.__class__.__name__, **sd}, f, indent=2)
    g = torch.Generator().manual_seed(seed)
    cond_ids = torch.randint(0, 1000, (1, 77), generator=g)
    uncond_ids = torch.randint(0, 1000, (1, 77), generator=g)
    init = torch.rand(1, 3, 16, 16, generator=g)
    with torch.no_grad():
        cond, uncond = text(cond_ids).last_hidden_state, text(uncond_ids).last_hidden_state
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=None, unet=unet, scheduler=scheduler,
                                       safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        images = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=16, width=16, num_inference_steps=4,
                      guidance_scale=5.0, num_images_per_prompt=batch, output_type="np",
                      generator=torch.Generator("cpu").manual_seed(seed)).images
        i2i = StableDiffusionImg2ImgPipeline(vae=vae, text_encoder=text, tokenizer=None, unet=unet,
                                             scheduler=img2img_scheduler.from_config(scheduler.config), safety_checker=None,
                                             feature_extractor=None, requires_safety_checker=False)
        i2i.set_progress_bar_config(disable=True)
        edited = i2i(prompt_embeds=cond, negative_prompt_embeds=uncond, image=init, strength=0.6, num_inference_steps=5,
                     guidance_scale=3.0, output_type="np", generator=torch.Generator("cpu").manual_seed(seed + 1)).images
    io = {"cond_ids": cond_ids.to(torch.int32), "uncond_ids": uncond_ids.to(torch.int32),
          "text2img": torch.from_numpy(images), "img2img.init": init, "img2img": torch.from_numpy(edited)}
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out, "pipeline.safetensors"),
              metadata={"text2img": f"{scheduler.__class__.__name__} 4 steps cfg 5 batch {batch} seed {seed} 16x16",
                        "img2img": f"{img2img_scheduler.__name__} 5 steps strength 0.6 cfg 3 seed {seed + 1}"})
    print(folder, images.shape, edited.shape)


pipelines("sd1-tiny", EulerAncestralDiscreteScheduler, EulerDiscreteScheduler, 2, 42)
pipelines("sd2-tiny", PNDMScheduler, DPMSolverMultistepScheduler, 1, 7)
