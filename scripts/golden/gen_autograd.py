#!/usr/bin/python3
"""Generate PyTorch reference values for gantry's autograd tests.

Run from anywhere (paths are resolved relative to the repository):

    /usr/bin/python3 scripts/golden/gen_autograd.py

It needs Debian's python3-torch (tested with 1.13) and python3-numpy, which
live under /usr/bin/python3; another python3 earlier on PATH may not see
them. It writes, overwriting:

    autograd/testdata/wgangp_critic.json   small conv critic + WGAN-GP penalty
    autograd/testdata/conv2d.json          conv2d forward, backward, 2nd order
    autograd/testdata/ops.json             broadcasting/reduction/unary ops

File format ("gantry-golden-1", read by internal/golden):

    {"format": "gantry-golden-1",
     "tensors": {"<name>": {"shape": [...], "data": [...]}, ...},
     "meta": {...}}

data is flat, row-major (contiguous PyTorch order); a scalar has shape [].

Conventions:
  * Every input and parameter is drawn as float32 with a fixed seed
    (torch.manual_seed), so reruns give byte-identical files for a given
    PyTorch build.
  * All arithmetic is then done in float64 starting from those exact float32
    values, and every output is rounded once to float32 at the end. Stored
    outputs are therefore the correctly-rounded answers for the stored
    inputs, not one particular float32 evaluation order; compare with a
    tolerance suited to float32 accumulation.
  * Numbers are written as the shortest decimal that round-trips the
    float32 exactly (numpy's repr of np.float32); the script checks this.
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldfile  # noqa: E402  (shared writer, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTDIR = os.path.join(ROOT, "autograd", "testdata")
MAX_BYTES = 300 * 1024

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
DT = torch.float64


# ---------------------------------------------------------------------------
# helpers


def rand(*shape, lo=-1.0, hi=1.0):
    """Uniform [lo, hi) drawn in float32, returned as float64 holding the
    exact float32 values."""
    t = torch.rand(tuple(shape), dtype=torch.float32) * (hi - lo) + lo
    return t.to(DT)


fmt32 = goldfile.fmt32


class Golden:
    def __init__(self, meta):
        self.tensors = {}
        self.meta = dict(meta)
        self.meta.setdefault("generator", "scripts/golden/gen_autograd.py")
        self.meta.setdefault("torch_version", torch.__version__)
        self.meta.setdefault(
            "precision",
            "inputs drawn as float32; computed in float64 from them; outputs rounded to float32 once",
        )

    def put(self, name, t):
        if name in self.tensors:
            raise KeyError(f"duplicate tensor {name}")
        if t is None:
            raise ValueError(f"{name}: None")
        t = t.detach()
        a = t.to(torch.float32).contiguous().numpy()
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: non-finite values")
        self.tensors[name] = (list(a.shape), a.reshape(-1))

    def write(self, fname):
        path = os.path.join(OUTDIR, fname)
        n = goldfile.write(path, self.tensors, self.meta, MAX_BYTES)
        print(f"wrote {os.path.relpath(path, ROOT)}: {len(self.tensors)} tensors, {n} bytes")


def grads(out, inputs, **kw):
    gs = torch.autograd.grad(out, inputs, allow_unused=True, **kw)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, gs)]


# ---------------------------------------------------------------------------
# a. WGAN-GP critic

LN_EPS = 1e-5
GP_LAMBDA = 10.0


def layer_norm(x, w, b):
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    v = ((x - m) ** 2).mean(dim=(1, 2, 3), keepdim=True)  # biased variance
    return (x - m) / torch.sqrt(v + LN_EPS) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


def critic(p, x, acts=None):
    h = F.conv2d(x, p["conv0.weight"], p["conv0.bias"], stride=1, padding=1)
    if acts is not None:
        acts["conv0"] = h
    h = layer_norm(h, p["ln1.weight"], p["ln1.bias"])
    if acts is not None:
        acts["ln1"] = h
    h = F.relu(h)
    h = F.conv2d(h, p["conv1.weight"], None, stride=1, padding=1)
    if acts is not None:
        acts["conv1"] = h
    h = F.avg_pool2d(h, 2)
    if acts is not None:
        acts["pool"] = h
    h = layer_norm(h, p["ln2.weight"], p["ln2.bias"])
    if acts is not None:
        acts["ln2"] = h
    h = F.relu(h)
    h = F.conv2d(h, p["conv2.weight"], p["conv2.bias"], stride=2, padding=1)
    if acts is not None:
        acts["conv2"] = h
    h = h.reshape(h.shape[0], -1)
    return h @ p["fc.weight"].t() + p["fc.bias"]


def gen_wgangp():
    torch.manual_seed(1001)
    N, C, H, W = 4, 3, 8, 8
    shapes = [
        ("conv0.weight", (8, 3, 3, 3)),
        ("conv0.bias", (8,)),
        ("ln1.weight", (8,)),
        ("ln1.bias", (8,)),
        ("conv1.weight", (8, 8, 3, 3)),
        ("ln2.weight", (8,)),
        ("ln2.bias", (8,)),
        ("conv2.weight", (16, 8, 3, 3)),
        ("conv2.bias", (16,)),
        ("fc.weight", (1, 64)),
        ("fc.bias", (1,)),
    ]
    p = {}
    for name, shape in shapes:
        if name.startswith("ln") and name.endswith(".weight"):
            p[name] = rand(*shape, lo=0.7, hi=1.3)
        elif name.startswith("ln") and name.endswith(".bias"):
            p[name] = rand(*shape, lo=-0.2, hi=0.2)
        else:
            p[name] = rand(*shape, lo=-0.3, hi=0.3)
        p[name].requires_grad_(True)
    real = rand(N, C, H, W).requires_grad_(True)
    fake = rand(N, C, H, W).requires_grad_(True)
    eps = rand(N, 1, 1, 1, lo=0.0, hi=1.0)

    g = Golden({
        "description": "WGAN-GP critic D with per-sample LayerNorm; see scripts/golden/gen_autograd.py",
        "architecture": [
            "conv0: F.conv2d(x, conv0.weight, conv0.bias, stride=1, padding=1) -> [N,8,8,8]",
            "ln1: m=mean(h,(1,2,3)); v=mean((h-m)^2,(1,2,3)) (biased); (h-m)/sqrt(v+1e-5)*w[c]+b[c]",
            "relu",
            "conv1: F.conv2d(h, conv1.weight, None, stride=1, padding=1) -> [N,8,8,8]",
            "pool: F.avg_pool2d(h, 2) -> [N,8,4,4]",
            "ln2: as ln1",
            "relu",
            "conv2: F.conv2d(h, conv2.weight, conv2.bias, stride=2, padding=1) -> [N,16,2,2]",
            "fc: h.reshape(N,64) @ fc.weight.T + fc.bias -> [N,1]",
        ],
        "ln_eps": LN_EPS,
        "gp_lambda": GP_LAMBDA,
        "formulas": {
            "x_hat": "eps*real + (1-eps)*fake",
            "grad_x_hat": "autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)",
            "grad_norm": "grad_x_hat.reshape(N,-1).norm(2, dim=1)",
            "gp": "10 * ((grad_norm - 1)**2).mean()",
            "loss": "D(fake).mean() - D(real).mean() + gp",
            "grad_gp.<P>": "d gp / d P (second order through D)",
            "grad_loss.<P>": "d loss / d P",
            "grad_d_real.<P>": "d D(real).mean() / d P (first order only)",
            "act.<layer>": "intermediate outputs of D(real) (conv0, ln1, pool, ln2, conv2), before the ReLU where one follows",
        },
        "params": [n for n, _ in shapes],
    })
    for name, _ in shapes:
        g.put(name, p[name])
    g.put("real", real)
    g.put("fake", fake)
    g.put("eps", eps)

    acts = {}
    d_real = critic(p, real, acts)
    d_fake = critic(p, fake)
    x_hat = eps * real + (1 - eps) * fake
    d_x_hat = critic(p, x_hat)
    (grad_x_hat,) = torch.autograd.grad(d_x_hat.sum(), x_hat, create_graph=True)
    grad_norm = grad_x_hat.reshape(N, -1).norm(2, dim=1)
    gp = GP_LAMBDA * ((grad_norm - 1) ** 2).mean()
    loss = d_fake.mean() - d_real.mean() + gp

    g.put("d_real", d_real)
    g.put("d_fake", d_fake)
    g.put("x_hat", x_hat)
    g.put("d_x_hat", d_x_hat)
    g.put("grad_x_hat", grad_x_hat)
    g.put("grad_norm", grad_norm)
    g.put("gp", gp)
    g.put("loss", loss)
    for k in ["conv0", "ln1", "pool", "ln2", "conv2"]:
        g.put("act." + k, acts[k])

    names = [n for n, _ in shapes]
    inputs = [p[n] for n in names] + [real, fake]
    gdr = grads(d_real.mean(), inputs, retain_graph=True)
    ggp = grads(gp, inputs, retain_graph=True)
    gloss = grads(loss, inputs)
    for n, v in zip(names + ["real"], gdr):
        g.put("grad_d_real." + n, v)
    for n, v in zip(names + ["real", "fake"], ggp):
        g.put("grad_gp." + n, v)
    for n, v in zip(names + ["real", "fake"], gloss):
        g.put("grad_loss." + n, v)
    g.meta["grad_gp_identically_zero"] = [n for n, v in zip(names, ggp) if float(v.abs().max()) == 0.0]
    g.meta["grad_loss_identically_zero"] = [n for n, v in zip(names, gloss) if float(v.abs().max()) == 0.0]
    g.write("wgangp_critic.json")


# ---------------------------------------------------------------------------
# b. conv2d

CONV_CASES = [
    # N, Cin, H, W, Cout, kh, kw, stride, padding, dilation
    dict(N=1, C=2, H=5, W=5, O=3, kh=3, kw=3, stride=(1, 1), padding=(0, 0), dilation=(1, 1)),
    dict(N=3, C=3, H=7, W=6, O=4, kh=3, kw=3, stride=(2, 2), padding=(1, 1), dilation=(1, 1)),
    dict(N=2, C=2, H=9, W=8, O=3, kh=2, kw=3, stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    dict(N=3, C=4, H=5, W=5, O=2, kh=1, kw=1, stride=(1, 1), padding=(0, 0), dilation=(1, 1)),
    dict(N=1, C=3, H=7, W=7, O=2, kh=3, kw=3, stride=(1, 1), padding=(2, 2), dilation=(2, 2)),
    dict(N=2, C=3, H=7, W=5, O=3, kh=5, kw=3, stride=(3, 2), padding=(2, 1), dilation=(1, 1)),
    dict(N=3, C=2, H=5, W=7, O=2, kh=1, kw=1, stride=(2, 3), padding=(1, 2), dilation=(1, 1)),
    dict(N=1, C=1, H=3, W=3, O=2, kh=3, kw=3, stride=(1, 1), padding=(2, 2), dilation=(1, 1)),
    dict(N=3, C=5, H=6, W=4, O=3, kh=4, kw=1, stride=(1, 2), padding=(1, 1), dilation=(2, 1)),
]


def gen_conv2d():
    torch.manual_seed(2002)
    g = Golden({
        "description": "F.conv2d(x, w, None, stride, padding, dilation) cases; see scripts/golden/gen_autograd.py",
        "layout": "x [N,Cin,H,W], w [Cout,Cin,kh,kw], y [N,Cout,Ho,Wo], Ho = floor((H+2*ph-dh*(kh-1)-1)/sh)+1",
        "formulas": {
            "y": "F.conv2d(x, w, None, stride, padding, dilation)",
            "gx, gw": "autograd.grad((y*gy).sum(), (x, w), create_graph=True)",
            "ggx": "d/dx (r*gw).sum()",
            "ggw_from_gx": "d/dw (s*gx).sum()",
        },
        "cases": [],
    })
    for i, c in enumerate(CONV_CASES):
        x = rand(c["N"], c["C"], c["H"], c["W"]).requires_grad_(True)
        w = rand(c["O"], c["C"], c["kh"], c["kw"], lo=-0.5, hi=0.5).requires_grad_(True)
        y = F.conv2d(x, w, None, stride=c["stride"], padding=c["padding"], dilation=c["dilation"])
        gy = rand(*y.shape)
        gx, gw = torch.autograd.grad((y * gy).sum(), (x, w), create_graph=True)
        r = rand(*gw.shape)
        s = rand(*x.shape)
        (ggx,) = grads((r * gw).sum(), [x], retain_graph=True)
        (ggw,) = grads((s * gx).sum(), [w])
        pre = f"case{i}."
        for k, v in [("x", x), ("w", w), ("y", y), ("gy", gy), ("gx", gx), ("gw", gw),
                     ("r", r), ("ggx", ggx), ("s", s), ("ggw_from_gx", ggw)]:
            g.put(pre + k, v)
        g.meta["cases"].append({
            "name": f"case{i}",
            "stride": list(c["stride"]),
            "padding": list(c["padding"]),
            "dilation": list(c["dilation"]),
            "x_shape": list(x.shape),
            "w_shape": list(w.shape),
            "y_shape": list(y.shape),
        })
    g.meta["num_cases"] = len(CONV_CASES)
    g.write("conv2d.json")


# ---------------------------------------------------------------------------
# c. ops


def gen_ops():
    torch.manual_seed(3003)
    g = Golden({
        "description": "forward/backward of single ops; gx/gy = grad of (out*g).sum(); see scripts/golden/gen_autograd.py",
        "ops": {},
    })

    def op(name, call, fn, *args):
        ins = [a.requires_grad_(True) for a in args]
        out = fn(*ins)
        gr = rand(*out.shape)
        gs = grads((out * gr).sum(), ins)
        g.put(name + ".x", ins[0])
        g.put(name + ".gx", gs[0])
        if len(ins) > 1:
            g.put(name + ".y", ins[1])
            g.put(name + ".gy", gs[1])
        g.put(name + ".out", out)
        g.put(name + ".g", gr)
        g.meta["ops"][name] = call

    def nonzero(*shape):
        # magnitudes in [0.5, 2), random sign: safe divisor
        m = rand(*shape, lo=0.5, hi=2.0)
        sgn = torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0).to(DT)
        return m * sgn

    # broadcasting binary ops
    op("add", "out = x + y  # x [2,3,4], y [3,1]", lambda x, y: x + y, rand(2, 3, 4), rand(3, 1))
    op("sub", "out = x - y  # x [2,3,4], y [3,1]", lambda x, y: x - y, rand(2, 3, 4), rand(3, 1))
    op("mul", "out = x * y  # x [2,3,4], y [3,1]", lambda x, y: x * y, rand(2, 3, 4), rand(3, 1))
    op("div", "out = x / y  # x [2,3,4], y [3,1], |y| in [0.5,2)", lambda x, y: x / y, rand(2, 3, 4), nonzero(3, 1))
    op("mul_bcast2", "out = x * y  # x [3,1,4], y [2,1] -> [3,2,4]", lambda x, y: x * y, rand(3, 1, 4), rand(2, 1))

    # reductions
    op("sum_d1_keep", "out = x.sum(dim=1, keepdim=True)  # [2,3,4] -> [2,1,4]", lambda x: x.sum(dim=1, keepdim=True), rand(2, 3, 4))
    op("sum_d02_keep", "out = x.sum(dim=(0,2), keepdim=True)  # [2,3,4] -> [1,3,1]", lambda x: x.sum(dim=(0, 2), keepdim=True), rand(2, 3, 4))
    op("sum_d1", "out = x.sum(dim=1)  # [2,3,4] -> [2,4]", lambda x: x.sum(dim=1), rand(2, 3, 4))
    op("sum_all", "out = x.sum()  # [2,3,4] -> []", lambda x: x.sum(), rand(2, 3, 4))
    op("mean_d2_keep", "out = x.mean(dim=2, keepdim=True)  # [2,3,4] -> [2,3,1]", lambda x: x.mean(dim=2, keepdim=True), rand(2, 3, 4))
    op("mean_d01_keep", "out = x.mean(dim=(0,1), keepdim=True)  # [2,3,4] -> [1,1,4]", lambda x: x.mean(dim=(0, 1), keepdim=True), rand(2, 3, 4))
    op("mean_all", "out = x.mean()  # [2,3,4] -> []", lambda x: x.mean(), rand(2, 3, 4))
    op("max_d2_keep", "out = x.amax(dim=2, keepdim=True)  # [2,3,4] -> [2,3,1]; no ties in x", lambda x: x.amax(dim=2, keepdim=True), rand(2, 3, 4))
    op("max_d1_keep", "out = x.amax(dim=1, keepdim=True)  # [2,3,4] -> [2,1,4]; no ties in x", lambda x: x.amax(dim=1, keepdim=True), rand(2, 3, 4))
    op("max_d02_keep", "out = x.amax(dim=(0,2), keepdim=True)  # [2,3,4] -> [1,3,1]; no ties in x", lambda x: x.amax(dim=(0, 2), keepdim=True), rand(2, 3, 4))
    op("var_d2_keep", "out = x.var(dim=2, unbiased=False, keepdim=True)  # [2,3,4] -> [2,3,1], divides by n", lambda x: x.var(dim=2, unbiased=False, keepdim=True), rand(2, 3, 4))
    op("var_d12_keep", "out = x.var(dim=(1,2), unbiased=False, keepdim=True)  # [2,3,4] -> [2,1,1], divides by n", lambda x: x.var(dim=(1, 2), unbiased=False, keepdim=True), rand(2, 3, 4))
    op("var_all", "out = x.var(unbiased=False)  # [2,3,4] -> [], divides by n", lambda x: x.var(unbiased=False), rand(2, 3, 4))

    # matmul
    op("matmul", "out = x @ y  # [2,3,4] @ [2,4,5] -> [2,3,5]", lambda x, y: x @ y, rand(2, 3, 4), rand(2, 4, 5))
    op("matmul_bcast", "out = x @ y  # [2,3,4] @ [4,5] -> [2,3,5]; gy sums over the batch", lambda x, y: x @ y, rand(2, 3, 4), rand(4, 5))
    op("matmul_2d", "out = x @ y  # [3,4] @ [4,5] -> [3,5]", lambda x, y: x @ y, rand(3, 4), rand(4, 5))

    # spatial
    op("upsample_nearest2x", "out = F.interpolate(x, scale_factor=2, mode='nearest')  # [2,3,5,6] -> [2,3,10,12]", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), rand(2, 3, 5, 6))
    op("avg_pool2d", "out = F.avg_pool2d(x, 2)  # kernel 2, stride 2, no padding, floor: [2,3,5,6] -> [2,3,2,3]; row 4 unused, its gx is 0", lambda x: F.avg_pool2d(x, 2), rand(2, 3, 5, 6))

    # unary
    op("tanh", "out = torch.tanh(x)  # x in [-3,3)", torch.tanh, rand(2, 3, 4, lo=-3, hi=3))
    op("sigmoid", "out = torch.sigmoid(x)  # x in [-6,6)", torch.sigmoid, rand(2, 3, 4, lo=-6, hi=6))
    op("softplus", "out = F.softplus(x)  # beta=1, threshold=20 (x>20 -> x; not reached here); x in [-8,8)", F.softplus, rand(2, 3, 4, lo=-8, hi=8))
    op("relu", "out = F.relu(x)  # x has no exact zeros", F.relu, rand(2, 3, 4))
    op("exp", "out = torch.exp(x)  # x in [-2,2)", torch.exp, rand(2, 3, 4, lo=-2, hi=2))
    op("log", "out = torch.log(x)  # x in [0.1,3)", torch.log, rand(2, 3, 4, lo=0.1, hi=3))
    op("sqrt", "out = torch.sqrt(x)  # x in [0.1,3)", torch.sqrt, rand(2, 3, 4, lo=0.1, hi=3))
    op("neg", "out = -x", torch.neg, rand(2, 3, 4))
    op("square", "out = x ** 2", lambda x: x ** 2, rand(2, 3, 4))
    op("softmax", "out = F.softmax(x, dim=-1)  # x in [-3,3)", lambda x: F.softmax(x, dim=-1), rand(2, 3, 4, lo=-3, hi=3))
    op("log_softmax", "out = F.log_softmax(x, dim=-1)  # x in [-3,3)", lambda x: F.log_softmax(x, dim=-1), rand(2, 3, 4, lo=-3, hi=3))
    g.write("ops.json")


def main():
    os.makedirs(OUTDIR, exist_ok=True)
    gen_wgangp()
    gen_conv2d()
    gen_ops()


if __name__ == "__main__":
    sys.exit(main())
