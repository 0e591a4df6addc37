"""Writer of gantry's golden files ("gantry-golden-1", read by internal/golden).

Shared by the gen_*.py scripts in this folder. A file is

    {"format": "gantry-golden-1",
     "tensors": {"<name>": {"shape": [...], "data": [...]}, ...},
     "meta": {...}}

with data flat and row-major, and every number written as the shortest
decimal that gives back the exact float32 (checked on writing).
"""
import json
import math
import os

import numpy as np

FORMAT = "gantry-golden-1"


def fmt32(v):
    """The shortest decimal that round-trips the float32 v."""
    s = repr(np.float32(v))  # numpy >= 1.14: shortest round-trip repr
    if s.startswith("np.float32("):  # numpy 2 style repr
        s = s[len("np.float32("):-1]
    if not math.isfinite(float(s)):
        raise ValueError(f"non-finite value {s}")
    if s.endswith(".0"):
        s = s[:-2]
    return s


def write(path, tensors, meta, max_bytes):
    """Writes tensors ({name: (shape, flat float32 array)}) and meta to path.

    Raises if a value does not round-trip or the file would exceed max_bytes.
    Returns the number of bytes written.
    """
    lines = ["{", f'  "format": "{FORMAT}",', '  "tensors": {']
    names = sorted(tensors)
    for i, name in enumerate(names):
        shape, flat = tensors[name]
        strs = [fmt32(v) for v in flat]
        back = np.array([float(s) for s in strs], dtype=np.float64).astype(np.float32)
        if not np.array_equal(back.view(np.uint32), flat.astype(np.float32).view(np.uint32)):
            raise AssertionError(f"{name}: float32 round trip failed")
        comma = "," if i + 1 < len(names) else ""
        lines.append(
            f"    {json.dumps(name)}: {{\"shape\": {json.dumps(shape)}, "
            f"\"data\": [{', '.join(strs)}]}}{comma}"
        )
    lines.append("  },")
    meta_text = json.dumps(meta, indent=2, sort_keys=True).replace("\n", "\n  ")
    lines.append(f'  "meta": {meta_text}')
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # sanity
    if len(text) > max_bytes:
        raise AssertionError(f"{os.path.basename(path)}: {len(text)} bytes > {max_bytes}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return len(text)
