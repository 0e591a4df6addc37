"""Minimal safetensors reader and writer, and a gantry-golden-1 writer, for
the Inception scripts and scripts/torch.

Debian ships no python3-safetensors, so the format is written by hand: an
8-byte little-endian header length, a JSON header (padded with spaces to a
multiple of 8 bytes) mapping each tensor name to its dtype, shape and byte
range, then the raw little-endian data of every tensor in header order. The
optional "__metadata__" entry maps strings to strings.
"""

import json
import math
import struct

import numpy as np
import torch

_DTYPES = {
    torch.float32: ("F32", "<f4"),
    torch.float64: ("F64", "<f8"),
    torch.float16: ("F16", "<f2"),
    torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"),
}


def save_safetensors(path, tensors, metadata=None):
    """Write a dict name -> torch tensor to path; returns the file size."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        code, npdt = _DTYPES[t.dtype]
        raw = t.numpy().astype(npdt, copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for raw in chunks:
            f.write(raw)
    return 8 + len(blob) + offset


_CODES = {code: (dt, npdt) for dt, (code, npdt) in _DTYPES.items()}


def load_safetensors(path):
    """Read a safetensors file written by save_safetensors, gantry or the
    safetensors library (the dtypes above only); returns (tensors, metadata),
    tensors a dict name -> torch tensor of the stored dtype."""
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    data, tensors = blob[8 + hlen:], {}
    for name, e in header.items():
        if e["dtype"] not in _CODES:
            raise TypeError(f"{name}: unsupported dtype {e['dtype']}")
        dt, npdt = _CODES[e["dtype"]]
        lo, hi = e["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=npdt).reshape(e["shape"])
        tensors[name] = torch.from_numpy(a.copy()).to(dt)
    return tensors, meta


def _f32_text(v):
    """Shortest decimal text that parses back to the same float32."""
    s = str(np.float32(v))
    if not math.isfinite(float(s)):
        raise ValueError(f"non-finite value {s}")
    if s.endswith(".0"):
        s = s[:-2]
    return s


def save_golden(path, tensors, meta):
    """Write a dict name -> tensor as a gantry-golden-1 JSON file (values
    rounded once to float32, stored flat in row-major order)."""
    lines = ['{', '  "format": "gantry-golden-1",', '  "tensors": {']
    names = sorted(tensors)
    for i, name in enumerate(names):
        a = tensors[name].detach().cpu().to(torch.float32).contiguous().numpy()
        flat = a.reshape(-1)
        text = [_f32_text(v) for v in flat]
        back = np.array([float(s) for s in text], dtype=np.float64).astype(np.float32)
        if not np.array_equal(back.view(np.uint32), flat.view(np.uint32)):
            raise AssertionError(f"{name}: float32 text round trip failed")
        sep = "," if i + 1 < len(names) else ""
        lines.append(f'    {json.dumps(name)}: {{"shape": {json.dumps(list(a.shape))}, '
                     f'"data": [{", ".join(text)}]}}{sep}')
    lines.append("  },")
    lines.append('  "meta": ' + json.dumps(meta, indent=2, sort_keys=True).replace("\n", "\n  "))
    lines.append("}")
    out = "\n".join(lines) + "\n"
    json.loads(out)
    with open(path, "w") as f:
        f.write(out)
    return len(out)
