"""Writes torch_cpu_randn.json: torch.randn drawn from torch.Generator("cpu").manual_seed(seed), as diffusers
and ComfyUI draw their noise on the CPU, for the sizes that take each of torch's paths (fewer than 16
elements: cached double Box-Muller; 16 or more: blocks of 16 float uniforms, the last block redrawn),
and for consecutive draws from one generator. RandomTests reads it; CI never runs this.

Needs Debian's python3-torch:  /usr/bin/python3 make_rng_fixtures.py
"""
import json
import os

import torch

cases = []
for seed in [0, 42, 1234567, 2**32 + 7]:
    for sizes in [[1], [3], [15], [16], [17], [37], [256], [5, 40], [2, 3]]:
        g = torch.Generator("cpu").manual_seed(seed)
        draws = [torch.randn(n, generator=g).tolist() for n in sizes]
        cases.append({"seed": seed, "sizes": sizes, "draws": draws})

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "torch_cpu_randn.json"), "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=0)
print(len(cases), "cases")
