#!/usr/bin/env python3
"""Converts resemblyzer's GE2E voice encoder (PyPI `resemblyzer==0.1.4`, its
`resemblyzer/pretrained.pt`) into the hub's voice-encoder file, once, into the
model cache. Standard library only (no torch): the checkpoint is torch's
legacy serialisation, a few pickles followed by the raw tensor storages.

  python3 scripts/import-voice-encoder.py <pretrained.pt | Resemblyzer-*.whl> <out.bin>

The output: b"WHVE", u32 version (1), u32 header length, a JSON header
({source, sourceSha256, dataSha256, tensors: [{name, shape}]}), then every
tensor as little-endian float32 in the header's order. The hub checks all of
it when it loads the file (native/models/voice-encoder.ts).
"""
import array
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import zipfile

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# The weights of the network: a 3-layer LSTM (40 mel bands in, 256 hidden) and a 256 x 256 linear layer.
WANTED = [f"lstm.{kind}_l{layer}" for layer in range(3) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")] + ["linear.weight", "linear.bias"]


class Storage:
    def __init__(self, key, numel):
        self.key, self.numel, self.values = key, numel, None


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(size), tuple(stride)


def rebuild_tensor(storage, offset, size, stride, *_):
    return Tensor(storage, offset, size, stride)


class Unpickler(pickle.Unpickler):
    """Builds only what a state dict of float tensors needs; anything else is refused."""

    def __init__(self, f):
        super().__init__(f, encoding="utf-8")
        self.storages = {}

    def find_class(self, module, name):
        import collections

        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor
        if (module, name) == ("torch", "FloatStorage"):
            return "FloatStorage"
        raise pickle.UnpicklingError(f"not a float checkpoint: it refers to {module}.{name}")

    def persistent_load(self, pid):
        kind, stype, key, _location, numel = pid[:5]
        if kind != "storage" or stype != "FloatStorage" or (len(pid) > 5 and pid[5] is not None):
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        return self.storages.setdefault(key, Storage(key, numel))


def read_checkpoint(raw):
    if raw[:2] == b"PK":
        raise SystemExit("this is torch's zip format; resemblyzer 0.1.4's pretrained.pt (the legacy format) is expected")
    f = io.BytesIO(raw)
    if pickle.load(f) != LEGACY_MAGIC:
        raise SystemExit("not a torch checkpoint (bad magic number)")
    pickle.load(f)  # protocol version
    pickle.load(f)  # sys info
    unpickler = Unpickler(f)
    state = unpickler.load()
    keys = pickle.load(f)
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        storage = unpickler.storages[key]
        values = array.array("f")
        values.frombytes(f.read(numel * 4))
        if len(values) != numel:
            raise SystemExit("the checkpoint is truncated")
        storage.values = values  # (kept as the file's little-endian bytes: they are written out unchanged)
    return state.get("model_state", state)


def contiguous(tensor):
    n = 1
    for s in tensor.shape:
        n *= s
    expected = [1] * len(tensor.shape)
    for i in range(len(tensor.shape) - 2, -1, -1):
        expected[i] = expected[i + 1] * tensor.shape[i + 1]
    if list(tensor.stride) != expected:
        raise SystemExit("a tensor is not contiguous")
    return tensor.storage.values[tensor.offset : tensor.offset + n]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    source, out = sys.argv[1:]
    raw = open(source, "rb").read()
    if raw[:2] == b"PK" and source.endswith(".whl"):
        raw = zipfile.ZipFile(io.BytesIO(raw)).read("resemblyzer/pretrained.pt")
    state = read_checkpoint(raw)
    missing = [name for name in WANTED if name not in state]
    if missing:
        raise SystemExit(f"not resemblyzer's voice encoder: missing {', '.join(missing)}")
    data = b"".join(contiguous(state[name]).tobytes() for name in WANTED)
    header = json.dumps(
        {
            "source": "resemblyzer 0.1.4 pretrained.pt (GE2E voice encoder)",
            "sourceSha256": hashlib.sha256(raw).hexdigest(),
            "dataSha256": hashlib.sha256(data).hexdigest(),
            "tensors": [{"name": name, "shape": list(state[name].shape)} for name in WANTED],
        }
    ).encode()
    with open(out + ".part", "wb") as f:
        f.write(b"WHVE" + struct.pack("<II", 1, len(header)) + header + data)
    os.replace(out + ".part", out)
    print(f"voice encoder written to {out} ({len(data) / 1e6:.1f} MB of weights)")


if __name__ == "__main__":
    main()
