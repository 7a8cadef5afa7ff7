"""Regenerates the PyTorch-format test fixtures in this folder without PyTorch.

torch.save writes a zip: NAME/data.pkl (a protocol-2 pickle whose tensors are
torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
and whose storages are persistent ids ('storage', torch.<T>Storage, key, 'cpu', numel)),
NAME/data/<key> (raw little-endian storage bytes, stored uncompressed), NAME/byteorder and
NAME/version. This script builds the same structure with stand-in modules named like torch's,
so the pickles are real CPython output. It is test-data tooling, not part of dsoup.

Run: python3 make_fixtures.py   (writes *.ckpt / *.bin next to itself)
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

here = os.path.dirname(os.path.abspath(__file__))

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2

for name in ["FloatStorage", "HalfStorage", "LongStorage", "BFloat16Storage"]:
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch, name, cls)


class Storage:
    def __init__(self, kind, key, data, numel):
        self.kind, self.key, self.data, self.numel = kind, key, data, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.kind), obj.key, "cpu", obj.numel)
        return None


def contiguous(size):
    stride, acc = [], 1
    for d in reversed(size):
        stride.insert(0, acc)
        acc *= d
    return stride


def write(path, root, storages, folder="archive", protocol=2, byteorder="little", storage_compression=zipfile.ZIP_STORED, pickle_bytes=None):
    buffer = io.BytesIO()
    Pickler(buffer, protocol=protocol).dump(root)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", buffer.getvalue() if pickle_bytes is None else pickle_bytes(buffer.getvalue()))
        z.writestr(f"{folder}/byteorder", byteorder)
        for s in storages:
            z.writestr(f"{folder}/data/{s.key}", s.data, compress_type=storage_compression)
        z.writestr(f"{folder}/version", "3\n")


f32 = Storage("FloatStorage", "0", struct.pack("<6f", 0, 1, 2, 3, 4, 5), 6)
f16 = Storage("HalfStorage", "1", struct.pack("<4e", 1.5, -2.0, 0.25, 8.0), 4)
i64 = Storage("LongStorage", "2", struct.pack("<3q", 0, 1, 2), 3)

state = collections.OrderedDict()
state["model.diffusion_model.conv_in_like.weight"] = Tensor(f32, 0, [2, 3], [3, 1])
state["first_half"] = Tensor(f16, 0, [2], [1])
state["second_half"] = Tensor(f16, 2, [2], [1])
state["cond_stage_model.transformer.text_model.embeddings.position_ids"] = Tensor(i64, 0, [1, 3], [3, 1])
state["scalar"] = Tensor(f32, 5, [], [])
root = {"state_dict": state, "global_step": 470000, "epoch": 6}
write(os.path.join(here, "lightning.ckpt"), root, [f32, f16, i64])

plain = collections.OrderedDict()
plain["weight"] = Tensor(f32, 0, [3, 2], [2, 1])
write(os.path.join(here, "plain.bin"), plain, [f32], folder="pytorch_model")

transposed = collections.OrderedDict()
transposed["weight"] = Tensor(f32, 0, [3, 2], [1, 3])
write(os.path.join(here, "noncontiguous.ckpt"), transposed, [f32])

outside = collections.OrderedDict()
outside["weight"] = Tensor(f32, 4, [2, 3], contiguous([2, 3]))
write(os.path.join(here, "outofbounds.ckpt"), outside, [f32])


class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned",))


evil = collections.OrderedDict()
evil["weight"] = Tensor(f32, 0, [6], [1])
evil["payload"] = Evil()
write(os.path.join(here, "evil.ckpt"), {"state_dict": evil}, [f32])


# Protocol 4 names globals with STACK_GLOBAL (module and name pushed as strings) instead of GLOBAL:
# the same checkpoint must load, and the same foreign global must be refused.
write(os.path.join(here, "lightning-p4.ckpt"), root, [f32, f16, i64], protocol=4)
write(os.path.join(here, "evil-p4.ckpt"), {"state_dict": evil}, [f32], protocol=4)

# One fixture per error rule of the reader.
write(os.path.join(here, "compressed.ckpt"), plain, [f32], storage_compression=zipfile.ZIP_DEFLATED)
write(os.path.join(here, "missing-storage.ckpt"), plain, [])
write(os.path.join(here, "no-state-dict.ckpt"), [1, 2, 3], [])
negative = collections.OrderedDict()
negative["weight"] = Tensor(f32, 0, [-2, 3], [3, 1])
write(os.path.join(here, "negative-size.ckpt"), negative, [f32])
write(os.path.join(here, "truncated-pickle.ckpt"), plain, [f32], pickle_bytes=lambda b: b[: len(b) // 2])
write(os.path.join(here, "big-endian.ckpt"), plain, [f32], byteorder="big")
with open(os.path.join(here, "legacy.ckpt"), "wb") as f:
    pickle.dump({"weight": [1.0, 2.0]}, f, protocol=2)  # torch.save before 1.6: a bare pickle, no zip
with zipfile.ZipFile(os.path.join(here, "no-data-pkl.ckpt"), "w") as z:
    z.writestr("archive/version", "3\n")
