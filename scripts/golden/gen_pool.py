#!/usr/bin/python3
"""PyTorch reference values for gantry's pooling and resizing ops.

    /usr/bin/python3 scripts/golden/gen_pool.py

Needs Debian's python3-torch (1.13). Writes autograd/testdata/pool.json in the
"gantry-golden-1" format (see gen_autograd.py): for each case <c>, the input
<c>.x, the output <c>.out, a random upstream gradient <c>.g and the input
gradient <c>.gx of sum(out * g). Inputs are float32; arithmetic is float64.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "autograd", "testdata", "pool.json")

torch.manual_seed(20261125)


def f32(t):
    return [float(repr(np.float32(v))) for v in t.detach().to(torch.float32).reshape(-1).tolist()]


def entry(t):
    return {"shape": list(t.shape), "data": f32(t)}


CASES = {
    "maxpool_k3s2p1": ((2, 3, 7, 7), lambda x: F.max_pool2d(x, 3, stride=2, padding=1)),
    "maxpool_k2": ((1, 2, 5, 6), lambda x: F.max_pool2d(x, 2)),
    "avgpool_k3s1p1_exclude": ((2, 2, 5, 6), lambda x: F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)),
    "avgpool_k3s2p1_include": ((2, 2, 7, 6), lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True)),
    "bilinear_up": ((1, 2, 5, 7), lambda x: F.interpolate(x, size=(13, 4), mode="bilinear", align_corners=False)),
    "bilinear_down": ((2, 1, 9, 8), lambda x: F.interpolate(x, size=(4, 3), mode="bilinear", align_corners=False)),
    "bilinear_align": ((1, 2, 4, 5), lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True)),
}
META = {
    "maxpool_k3s2p1": "F.max_pool2d(x, 3, stride=2, padding=1)",
    "maxpool_k2": "F.max_pool2d(x, 2)",
    "avgpool_k3s1p1_exclude": "F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)",
    "avgpool_k3s2p1_include": "F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True)",
    "bilinear_up": "F.interpolate(x, size=(13, 4), mode='bilinear', align_corners=False)",
    "bilinear_down": "F.interpolate(x, size=(4, 3), mode='bilinear', align_corners=False)",
    "bilinear_align": "F.interpolate(x, size=(7, 9), mode='bilinear', align_corners=True)",
}

tensors = {}
for name, (shape, fn) in CASES.items():
    x = (torch.rand(*shape) * 2 - 1).to(torch.float64).requires_grad_(True)
    out = fn(x)
    g = (torch.rand(*out.shape) * 2 - 1).to(torch.float64)
    (gx,) = torch.autograd.grad((out * g).sum(), x)
    tensors[name + ".x"] = entry(x)
    tensors[name + ".out"] = entry(out)
    tensors[name + ".g"] = entry(g)
    tensors[name + ".gx"] = entry(gx)

with open(OUT, "w") as f:
    json.dump({"format": "gantry-golden-1", "tensors": tensors,
               "meta": {"generator": "scripts/golden/gen_pool.py", "torch_version": torch.__version__, "ops": META}}, f)
print("wrote", OUT, os.path.getsize(OUT), "bytes")
