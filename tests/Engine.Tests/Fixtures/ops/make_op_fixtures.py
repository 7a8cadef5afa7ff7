"""Writes torch_ops.safetensors: inputs, outputs and input gradients of PyTorch's own ops on small seeded
shapes, a cross-check next to the tests' float64 references (TorchOpFixtureTests reads it; CI never runs this).

Needs the reference oracle (../../../../../shared/oracle: Debian's python3-torch, diffusers v0.27.2, the
safetensors binding):  source $ORACLE/env.sh && /usr/bin/python3 make_op_fixtures.py

Each case NAME stores NAME.in0, NAME.in1, ... (the inputs), NAME.out (the output), NAME.seed (the upstream
gradient) and NAME.grad0, ... (the gradient of sum(seed * out) for each input), all float32. The shapes and
settings of each case are repeated in the C# test, which names them.
"""
import os

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import get_timestep_embedding
from safetensors.torch import save_file

torch.manual_seed(20261205)
torch.set_num_threads(1)
tensors = {}


def case(name, fn, *shapes, scale=1.0):
    inputs = [(torch.rand(*s, dtype=torch.float64) * 2 - 1).mul(scale).float().requires_grad_() for s in shapes]
    out = fn(*inputs)
    seed = torch.rand(out.shape, dtype=torch.float64).mul(2).sub(1).float()
    grads = torch.autograd.grad((out * seed).sum(), inputs)
    for i, t in enumerate(inputs):
        tensors[f"{name}.in{i}"] = t.detach()
        tensors[f"{name}.grad{i}"] = grads[i]
    tensors[f"{name}.out"] = out.detach()
    tensors[f"{name}.seed"] = seed


def attention(q, k, v, heads, causal):
    b, n, c = q.shape
    m = k.shape[1]
    d = c // heads
    qh = q.reshape(b, n, heads, d).transpose(1, 2)
    kh = k.reshape(b, m, heads, d).transpose(1, 2)
    vh = v.reshape(b, m, heads, d).transpose(1, 2)
    scores = qh @ kh.transpose(-1, -2) * d ** -0.5
    if causal:
        mask = torch.ones(n, m, dtype=torch.bool).triu(1 + m - n)
        scores = scores.masked_fill(mask, float("-inf"))
    return (scores.softmax(-1) @ vh).transpose(1, 2).reshape(b, n, c)


case("conv3x3", lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), (2, 3, 6, 5), (4, 3, 3, 3), (4,))
# diffusers' Downsample2D in the VAE: pad (0, 1, 0, 1) then a stride-2 3×3 convolution with no padding.
case("conv_vae_down", lambda x, w, b: F.conv2d(F.pad(x, (0, 1, 0, 1)), w, b, stride=2), (1, 4, 7, 6), (5, 4, 3, 3), (5,))
case("conv1x1", lambda x, w: F.conv2d(x, w), (2, 6, 3, 4), (3, 6, 1, 1))
case("group_norm", lambda x, w, b: F.group_norm(x, 4, w, b, eps=1e-6), (2, 8, 3, 3), (8,), (8,), scale=2.0)
case("layer_norm", lambda x, w, b: F.layer_norm(x, (10,), w, b, eps=1e-5), (3, 10), (10,), (10,), scale=2.0)
case("gelu", lambda x: F.gelu(x), (41,), scale=4.0)
case("silu", lambda x: F.silu(x), (41,), scale=4.0)
case("quick_gelu", lambda x: x * torch.sigmoid(1.702 * x), (41,), scale=4.0)  # transformers' QuickGELUActivation
case("geglu", lambda x: (lambda h, g: h * F.gelu(g))(*x.chunk(2, dim=-1)), (3, 2, 8), scale=2.0)  # diffusers' GEGLU after its projection
case("attention", lambda q, k, v: attention(q, k, v, 2, False), (2, 5, 8), (2, 7, 8), (2, 7, 8))
case("attention_causal", lambda q, k, v: attention(q, k, v, 3, True), (1, 6, 12), (1, 6, 12), (1, 6, 12))
case("upsample", lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest"), (1, 2, 3, 4))
case("linear", lambda x, w, b: F.linear(x, w, b), (2, 3, 5), (4, 5), (4,))
case("mse_weighted", lambda a, b, w: (F.mse_loss(a, b, reduction="none").mean(dim=[1, 2, 3]) * w).mean(), (3, 2, 2, 2), (3, 2, 2, 2), (3,))

# Timestep embeddings: no gradients, outputs only.
steps = torch.tensor([0.0, 1.0, 250.0, 999.0])
tensors["timestep_flip.out"] = get_timestep_embedding(steps, 32, flip_sin_to_cos=True, downscale_freq_shift=0)
tensors["timestep_shift_odd.out"] = get_timestep_embedding(steps, 33, flip_sin_to_cos=False, downscale_freq_shift=1)

# AdamW with global-norm clipping over three steps of fixed gradients.
param = (torch.rand(2, 5, dtype=torch.float64) * 2 - 1).float().requires_grad_()
tensors["adamw.start"] = param.detach().clone()
optimizer = torch.optim.AdamW([param], lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1)
for step in range(3):
    grad = (torch.rand(2, 5, dtype=torch.float64) * 2 - 1).mul(3).float()
    tensors[f"adamw.grad{step}"] = grad
    param.grad = grad.clone()
    torch.nn.utils.clip_grad_norm_([param], max_norm=1.5)
    optimizer.step()
    tensors[f"adamw.after{step}"] = param.detach().clone()

here = os.path.dirname(os.path.abspath(__file__))
save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(here, "torch_ops.safetensors"),
          metadata={"torch": torch.__version__, "script": "make_op_fixtures.py"})
print(f"wrote {len(tensors)} tensors")
