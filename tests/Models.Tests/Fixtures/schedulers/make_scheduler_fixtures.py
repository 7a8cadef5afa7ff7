"""Writes trajectories.json: diffusers v0.27.2's own schedulers run on a fixed fake model, step by step, for
SchedulerTests (CI never runs this). Needs the reference oracle (shared/oracle):
    source $ORACLE/env.sh && /usr/bin/python3 make_scheduler_fixtures.py

Every case starts from the same sample (2×4×3×3, values below) and uses SD's training schedule
(scaled_linear 0.00085..0.012, 1000 steps, steps_offset 1, set_alpha_to_one False, clip_sample False).
The fake model is m(x, t) = x · f32(t / (t + 1)) + 0.1 · pattern (pattern below), in float32. The noise the
ancestral sampler draws comes from torch.Generator("cpu").manual_seed(7), which TorchCpuNoise reproduces.
Recorded per case: timesteps, init_noise_sigma, and after each step the scaled model input and the sample.
"""
import json
import math
import os

import torch
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, PNDMScheduler)

torch.set_num_threads(1)
base = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
            steps_offset=1)
sample0 = torch.tensor([math.sin(0.37 * i) * 1.3 for i in range(72)], dtype=torch.float32).reshape(2, 4, 3, 3)
pattern = torch.tensor([math.cos(0.11 * i * i) for i in range(72)], dtype=torch.float32).reshape(2, 4, 3, 3)


def model(x, t):
    t = float(t)
    return x * (t / (t + 1.0)) + 0.1 * pattern


def run(name, scheduler, steps):
    scheduler.set_timesteps(steps)
    generator = torch.Generator("cpu").manual_seed(7)
    x = sample0 * scheduler.init_noise_sigma
    record = {"name": name, "steps": steps, "timesteps": [float(t) for t in scheduler.timesteps],
              "init_noise_sigma": float(scheduler.init_noise_sigma), "inputs": [], "samples": []}
    for t in scheduler.timesteps:
        scaled = scheduler.scale_model_input(x, t)
        out = model(scaled, t)
        x = scheduler.step(out, t, x, generator=generator).prev_sample if "generator" in scheduler.step.__code__.co_varnames \
            else scheduler.step(out, t, x).prev_sample
        record["inputs"].append(scaled.flatten().tolist())
        record["samples"].append(x.flatten().tolist())
    return record


cases = []
for prediction in ["epsilon", "v_prediction"]:
    for spacing in ["leading", "trailing", "linspace"]:
        common = dict(base, prediction_type=prediction, timestep_spacing=spacing)
        tag = f"{prediction}-{spacing}"
        cases.append(run(f"ddim-{tag}", DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=False), 6))
        cases.append(run(f"pndm-{tag}", PNDMScheduler(**common, skip_prk_steps=True, set_alpha_to_one=False), 6))
        cases.append(run(f"euler-{tag}", EulerDiscreteScheduler(**common), 6))
        cases.append(run(f"euler_a-{tag}", EulerAncestralDiscreteScheduler(**common), 6))
        cases.append(run(f"dpm++2m-{tag}", DPMSolverMultistepScheduler(**common), 6))
        cases.append(run(f"euler-karras-{tag}", EulerDiscreteScheduler(**common, use_karras_sigmas=True), 6))
        cases.append(run(f"dpm++2m-karras-{tag}", DPMSolverMultistepScheduler(**common, use_karras_sigmas=True), 6))
# DPM++2M at 16 steps takes the second-order path at the second-to-last step too (lower_order_final only below 15).
cases.append(run("dpm++2m-epsilon-linspace-16", DPMSolverMultistepScheduler(**base, timestep_spacing="linspace"), 16))
cases.append(run("ddim-epsilon-leading-50", DDIMScheduler(**base, clip_sample=False, set_alpha_to_one=False), 50))

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "trajectories.json"), "w") as f:
    json.dump({"diffusers": "0.27.2", "sample": sample0.flatten().tolist(), "pattern": pattern.flatten().tolist(),
               "cases": cases}, f)
print(len(cases), "cases")
