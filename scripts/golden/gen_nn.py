#!/usr/bin/python3
"""Generate PyTorch reference values for gantry's nn package.

Run from anywhere (paths are resolved relative to the repository):

    /usr/bin/python3 scripts/golden/gen_nn.py

It needs Debian's python3-torch (tested with 1.13) and python3-numpy. It
writes, overwriting:

    nn/testdata/layers.json           every layer: forward, input and parameter
                                      gradients of sum(out * g)
    nn/testdata/batchnorm.json        BatchNorm2d running statistics over
                                      several training steps, eval mode, and
                                      batch statistics in eval mode
    nn/testdata/blocks.json           residual blocks: up with BatchNorm, down
                                      with LayerNorm, none (identity and 1x1
                                      shortcut), up with conditional BatchNorm
    nn/testdata/torch_tiny.safetensors  a small PyTorch model's state_dict
    nn/testdata/torch_tiny.json       that model's input and eval output

and, if nn/testdata/gantry_tiny.safetensors exists (written by
`go test ./nn -run TestWriteTinyForTorch -write-torch`), loads it into the
same PyTorch model with load_state_dict(strict=True) and checks the output
gantry stored beside the weights. The process exits non-zero if it fails.

The golden files use the "gantry-golden-1" JSON format (see
scripts/golden/gen_autograd.py and internal/golden). Inputs and parameters
are drawn as float32 with a fixed seed; every module is then run in float64
from those exact values and outputs are rounded to float32 once.

The PyTorch modules below use the same parameter and buffer names as gantry
(weight, bias, running_mean, running_var, num_batches_tracked; conv1, norm1,
shortcut, ...), so their state_dicts load into gantry modules as they are.

The safetensors files are written and read by hand (struct + json): Debian
has no python3-safetensors package. The layout is the standard one: an 8-byte
little-endian header length, a JSON header {name: {dtype, shape,
data_offsets}, "__metadata__": {...}} padded with spaces to 8 bytes, then the
raw little-endian data.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldfile  # noqa: E402  (shared writer, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTDIR = os.path.join(ROOT, "nn", "testdata")
MAX_BYTES = 300 * 1024
EPS = 1e-5

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
DT = torch.float64


# ---------------------------------------------------------------------------
# helpers (same conventions as gen_autograd.py)


def rand(*shape, lo=-1.0, hi=1.0):
    t = torch.rand(tuple(shape), dtype=torch.float32) * (hi - lo) + lo
    return t.to(DT)


fmt32 = goldfile.fmt32


class Golden:
    def __init__(self, meta):
        self.tensors = {}
        self.meta = dict(meta)
        self.meta.setdefault("generator", "scripts/golden/gen_nn.py")
        self.meta.setdefault("torch_version", torch.__version__)
        self.meta.setdefault(
            "precision",
            "inputs drawn as float32; computed in float64 from them; outputs rounded to float32 once",
        )

    def put(self, name, t):
        if name in self.tensors:
            raise KeyError(f"duplicate tensor {name}")
        if not torch.is_tensor(t):
            t = torch.tensor(t, dtype=DT)
        a = t.detach().to(torch.float32).contiguous().numpy()
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: non-finite values")
        self.tensors[name] = (list(a.shape), a.reshape(-1))

    def write(self, fname):
        path = os.path.join(OUTDIR, fname)
        n = goldfile.write(path, self.tensors, self.meta, MAX_BYTES)
        print(f"wrote {os.path.relpath(path, ROOT)}: {len(self.tensors)} tensors, {n} bytes")


def randomize(m):
    """Give every parameter float32 random values (away from the defaults,
    so a gantry layer that ignored a parameter would fail)."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "weight" and p.dim() <= 2 and isinstance(owner(m, name), (nn.BatchNorm2d, LayerNormCHW, CondBatchNorm2d)):
                p.copy_(rand(*p.shape, lo=0.5, hi=1.5))
            elif leaf == "bias":
                p.copy_(rand(*p.shape, lo=-0.5, hi=0.5))
            else:
                p.copy_(rand(*p.shape, lo=-0.5, hi=0.5))


def owner(m, name):
    for part in name.split(".")[:-1]:
        m = getattr(m, part)
    return m


# ---------------------------------------------------------------------------
# modules with gantry's names


class LayerNormCHW(nn.Module):
    """Per-sample normalisation over (C,H,W), biased variance, per-channel
    affine: tflib's layernorm over axes [1,2,3]."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x, labels=None):
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        v = ((x - m) ** 2).mean(dim=(1, 2, 3), keepdim=True)
        return (x - m) / torch.sqrt(v + EPS) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class CondBatchNorm2d(nn.Module):
    """Batch norm with per-class weight and bias tables [K, C]."""

    def __init__(self, k, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(k, c))
        self.bias = nn.Parameter(torch.zeros(k, c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x, labels):
        if self.training:
            self.num_batches_tracked += 1
        y = F.batch_norm(x, self.running_mean, self.running_var, None, None, self.training, 0.1, EPS)
        w = self.weight[labels].view(x.shape[0], -1, 1, 1)
        b = self.bias[labels].view(x.shape[0], -1, 1, 1)
        return y * w + b


class BN(nn.BatchNorm2d):
    def forward(self, x, labels=None):
        return super().forward(x)


class ResidualBlock(nn.Module):
    """The Transferring GANs residual block, named as gantry's nn.ResidualBlock."""

    def __init__(self, cin, cout, k, resample, norm):
        super().__init__()
        mid = cout if resample == "up" else cin
        self.resample = resample
        self.norm1 = norm(cin) if norm else None
        self.conv1 = nn.Conv2d(cin, mid, k, padding=(k - 1) // 2, bias=False)
        self.norm2 = norm(mid) if norm else None
        self.conv2 = nn.Conv2d(mid, cout, k, padding=(k - 1) // 2)
        self.shortcut = nn.Conv2d(cin, cout, 1) if (cin != cout or resample != "none") else None

    def forward(self, x, labels=None):
        sc = x
        if self.resample == "up":
            sc = F.interpolate(sc, scale_factor=2, mode="nearest")
        if self.resample == "down":
            sc = F.avg_pool2d(sc, 2)
        if self.shortcut is not None:
            sc = self.shortcut(sc)
        h = x
        if self.norm1 is not None:
            h = self.norm1(h, labels)
        h = F.relu(h)
        if self.resample == "up":
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv1(h)
        if self.norm2 is not None:
            h = self.norm2(h, labels)
        h = F.relu(h)
        h = self.conv2(h)
        if self.resample == "down":
            h = F.avg_pool2d(h, 2)
        return sc + h


class Tiny(nn.Module):
    """A small model mixing every state kind; gantry's twin is in
    nn/torch_test.go."""

    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.blocks = nn.ModuleList([
            ResidualBlock(4, 6, 3, "down", LayerNormCHW),
            ResidualBlock(6, 6, 3, "none", BN),
        ])
        self.fc = nn.Linear(6 * 2 * 2, 2)

    def forward(self, x):
        h = F.relu(self.bn(self.conv_in(x)))
        for b in self.blocks:
            h = b(h)
        return self.fc(h.reshape(h.shape[0], -1))


# ---------------------------------------------------------------------------
# a. layers


class Case:
    def __init__(self, name, module, x, labels=None, call=None):
        self.name, self.module, self.x, self.labels, self.call = name, module, x, labels, call


def run_case(g, c, train=True, second=False):
    m = c.module.to(DT)
    m.train(train)
    pre = {k: v.clone() for k, v in m.state_dict().items()}
    for k, v in pre.items():
        g.put(f"{c.name}/state/{k}", v)
    x = c.x
    xs = [x] if x.is_floating_point() else []
    if xs:
        x.requires_grad_(True)
        g.put(f"{c.name}/x", x)
    else:
        g.put(f"{c.name}/idx", x.to(DT))
    if c.labels is not None:
        g.put(f"{c.name}/labels", c.labels.to(DT))
    out = c.call(m, x) if c.call else (m(x, c.labels) if c.labels is not None else m(x))
    gout = rand(*out.shape)
    g.put(f"{c.name}/g", gout)
    g.put(f"{c.name}/out", out)
    params = [p for _, p in m.named_parameters()]
    names = [n for n, _ in m.named_parameters()]
    gs = torch.autograd.grad((out * gout).sum(), xs + params, allow_unused=True, create_graph=second)
    gs = [torch.zeros_like(v) if gr is None else gr for v, gr in zip(xs + params, gs)]
    if second:
        # A gradient penalty: second order through the whole module.
        gp = (gs[0] ** 2).sum()
        g.put(f"{c.name}/gp", gp)
        ggs = torch.autograd.grad(gp, xs + params, allow_unused=True, retain_graph=True)
        for n, v, gr in zip(["x"] + names, xs + params, ggs):
            g.put(f"{c.name}/gradgp/{n}", torch.zeros_like(v) if gr is None else gr)
    if xs:
        g.put(f"{c.name}/grad/x", gs[0])
    for n, gr in zip(names, gs[len(xs):]):
        g.put(f"{c.name}/grad/{n}", gr)
    for k, v in m.state_dict().items():
        if k not in dict(m.named_parameters()):
            g.put(f"{c.name}/after/{k}", v)


def gen_layers():
    torch.manual_seed(2001)
    cases = []

    def add(name, module, x, **kw):
        randomize(module)
        cases.append(Case(name, module, x, **kw))

    add("linear", nn.Linear(5, 3), rand(4, 5))
    add("linear_nobias", nn.Linear(5, 3, bias=False), rand(4, 5))
    add("conv", nn.Conv2d(3, 4, 3, padding=1), rand(2, 3, 5, 5))
    add("conv_s2_nobias", nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False), rand(2, 3, 6, 5))
    add("conv_1x1", nn.Conv2d(3, 2, 1), rand(2, 3, 3, 3))
    add("upsample", nn.Upsample(scale_factor=2, mode="nearest"), rand(2, 2, 3, 3))
    add("meanpool", nn.AvgPool2d(2), rand(2, 2, 4, 6))
    add("batchnorm", nn.BatchNorm2d(3), rand(4, 3, 3, 2))
    add("layernorm", LayerNormCHW(4), rand(3, 4, 3, 2))
    add("condbatchnorm", CondBatchNorm2d(3, 4), rand(4, 4, 3, 2), labels=torch.tensor([2, 0, 2, 1]))
    add("embedding", nn.Embedding(5, 3), torch.tensor([4, 0, 4, 2]))
    add("relu", nn.ReLU(), rand(3, 4))
    add("leakyrelu", nn.LeakyReLU(0.2), rand(3, 4))
    add("tanh", nn.Tanh(), rand(3, 4, lo=-2, hi=2))
    add("sigmoid", nn.Sigmoid(), rand(3, 4, lo=-3, hi=3))
    seq = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    add("sequential", seq, rand(3, 4))

    g = Golden({
        "description": "nn layers: <case>/state/* before, <case>/x input, <case>/out = module(x) in training mode, "
                       "<case>/grad/* = d sum(out*g) / d (x, params), <case>/after/* buffers after the forward",
        "cases": [c.name for c in cases],
        "modules": {c.name: repr(c.module) for c in cases},
    })
    for c in cases:
        run_case(g, c)
    g.write("layers.json")


# ---------------------------------------------------------------------------
# b. batch norm running statistics


def gen_batchnorm():
    torch.manual_seed(2002)
    bn = nn.BatchNorm2d(3, momentum=0.1, eps=EPS)
    randomize(bn)
    bn = bn.to(DT)
    g = Golden({
        "description": "BatchNorm2d(3): step{i}/x and step{i}/out in training mode, then running stats; "
                       "eval/out with running stats; batchstats/out with batch statistics (the paper's "
                       "always-batch-statistics generator), same eval input",
        "steps": 4,
    })
    for k, v in bn.state_dict().items():
        g.put(f"state/{k}", v)
    bn.train()
    for i in range(4):
        x = rand(5, 3, 2, 3, lo=-1 + i, hi=2 + i)  # shifting statistics
        with torch.no_grad():
            out = bn(x)
        g.put(f"step{i}/x", x)
        g.put(f"step{i}/out", out)
    for k in ["running_mean", "running_var", "num_batches_tracked"]:
        g.put(f"after/{k}", getattr(bn, k))
    bn.eval()
    x = rand(2, 3, 2, 2)
    with torch.no_grad():
        g.put("eval/x", x)
        g.put("eval/out", bn(x))
        g.put("batchstats/out", F.batch_norm(x, None, None, bn.weight, bn.bias, True, 0.1, EPS))
    g.write("batchnorm.json")


# ---------------------------------------------------------------------------
# c. residual blocks


def gen_blocks():
    torch.manual_seed(2003)
    cases = []

    def add(name, block, x, labels=None):
        randomize(block)
        cases.append(Case(name, block, x, labels=labels))

    add("up_bn", ResidualBlock(4, 3, 3, "up", BN), rand(2, 4, 3, 3))
    add("down_ln", ResidualBlock(3, 5, 3, "down", LayerNormCHW), rand(2, 3, 4, 4))
    add("none_ln_identity", ResidualBlock(3, 3, 3, "none", LayerNormCHW), rand(2, 3, 3, 3))
    add("none_ln", ResidualBlock(3, 4, 3, "none", LayerNormCHW), rand(2, 3, 3, 3))
    add("none_plain", ResidualBlock(3, 4, 3, "none", None), rand(2, 3, 3, 3))
    add("up_condbn", ResidualBlock(4, 3, 3, "up", lambda c: CondBatchNorm2d(3, c)), rand(3, 4, 2, 2),
        labels=torch.tensor([1, 2, 1]))
    g = Golden({
        "description": "ResidualBlock (Transferring GANs) in training mode; keys as layers.json, plus "
                       "<case>/gp = sum(grad_x^2) with grad_x = d sum(out*g)/dx (create_graph) and "
                       "<case>/gradgp/* = d gp / d (x, params): second order through the block",
        "cases": {c.name: repr(c.module) for c in cases},
    })
    for c in cases:
        run_case(g, c, second=True)
    g.write("blocks.json")


# ---------------------------------------------------------------------------
# d. safetensors interchange

ST_DTYPES = {torch.float32: ("F32", np.float32), torch.float64: ("F64", np.float64), torch.int64: ("I64", np.int64)}
NP_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata} if metadata else {}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        dt, npdt = ST_DTYPES[t.dtype]
        b = t.numpy().astype(npdt).astype(np.dtype(npdt).newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(tensors)} tensors, {8 + len(h) + off} bytes")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    end = 0
    for name, e in header.items():
        b, en = e["data_offsets"]
        a = np.frombuffer(data[b:en], dtype=np.dtype(NP_DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(a.astype(NP_DTYPES[e["dtype"]]).reshape(e["shape"]).copy())
        end = max(end, en)
    if end != len(data):
        raise ValueError(f"{path}: header covers {end} data bytes, file has {len(data)}")
    return out, meta


def gen_torch_tiny():
    torch.manual_seed(2004)
    m = Tiny()
    randomize(m)
    m.train()
    with torch.no_grad():  # a few steps give the BatchNorms real running statistics
        for i in range(3):
            m(torch.rand(4, 3, 4, 4) * 2 - 1 + 0.3 * i)
    m.eval()
    write_safetensors(os.path.join(OUTDIR, "torch_tiny.safetensors"), m.state_dict(),
                      {"format": "pt", "source": "scripts/golden/gen_nn.py Tiny"})
    x = rand(2, 3, 4, 4)
    md = Tiny()
    md.load_state_dict(m.state_dict())
    md = md.to(DT).eval()
    with torch.no_grad():
        out = md(x)
    g = Golden({"description": "Tiny (see gen_nn.py) in eval mode, weights in torch_tiny.safetensors: out = Tiny(x)"})
    g.put("x", x)
    g.put("out", out)
    g.write("torch_tiny.json")


def check_gantry_file():
    path = os.path.join(OUTDIR, "gantry_tiny.safetensors")
    if not os.path.exists(path):
        print(f"skip: {os.path.relpath(path, ROOT)} not present")
        return
    sd, meta = read_safetensors(path)
    x, want = sd.pop("check.x"), sd.pop("check.out")
    m = Tiny()
    m.load_state_dict(sd, strict=True)  # raises on any missing or unexpected key
    m = m.to(DT).eval()
    with torch.no_grad():
        got = m(x.to(DT))
    err = float((got - want.to(DT)).abs().max())
    print(f"checked {os.path.relpath(path, ROOT)} in PyTorch: strict load ok, metadata {meta}, max |diff| {err:.3g}")
    if not err <= 1e-5:
        sys.exit(f"gantry_tiny.safetensors: PyTorch output differs from gantry's by {err}")


def main():
    gen_layers()
    gen_batchnorm()
    gen_blocks()
    gen_torch_tiny()
    check_gantry_file()


if __name__ == "__main__":
    main()
