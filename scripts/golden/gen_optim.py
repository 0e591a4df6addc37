#!/usr/bin/python3
"""Generate PyTorch reference trajectories for gantry's optim tests.

Run from anywhere (paths are resolved relative to the repository):

    /usr/bin/python3 scripts/golden/gen_optim.py

It needs Debian's python3-torch (tested with 1.13) and python3-numpy under
/usr/bin/python3. It writes, overwriting:

    optim/testdata/adam.json      Adam (default, paper betas, L2, AMSGrad), AdamW, groups
    optim/testdata/sgd.json       SGD plain, momentum+dampening, Nesterov, L2
    optim/testdata/rmsprop.json   RMSprop plain, momentum, centered, both
    optim/testdata/schedule.json  SGD with clip_grad_norm_ and a LambdaLR
                                  warm-up + cosine schedule

File format: "gantry-golden-1", read by internal/golden (see
gen_autograd.py for the layout).

The model is two float32 parameters, W [3,4] and b [4], and the fixed loss

    loss = sum((x @ W + b)^2 * c)

with x [5,3] and c [5,4] fixed (c > 0). Every case starts from the same W
and b and runs 20 steps of zero_grad / backward / (clip) / step / (sched).

Unlike gen_autograd.py, everything here runs in float32, as torch.optim
does on float32 parameters: the reference is torch's own float32 update,
which gantry's optim mirrors operation by operation. For each case and each
step k = 1..20 the file holds

    <case>.W.<k>, <case>.b.<k>    parameters after step k
    <case>.gW.<k>, <case>.gb.<k>  the gradients step k used (after clipping)
    <case>.state.<buffer>.<W|b>   torch's optimizer state after step 20
                                  (exp_avg, momentum_buffer, ...)

and meta.cases[<case>] holds the hyper-parameters under gantry's field
names (Go test tables are checked against them) and, as "steps", torch's
per-parameter step counts after step 20 (SGD keeps none).
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goldfile  # noqa: E402  (shared writer, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTDIR = os.path.join(ROOT, "optim", "testdata")
MAX_BYTES = 300 * 1024
STEPS = 20

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
DT = torch.float32


fmt32 = goldfile.fmt32


class Golden:
    def __init__(self, meta):
        self.tensors = {}
        self.meta = dict(meta)
        self.meta.setdefault("generator", "scripts/golden/gen_optim.py")
        self.meta.setdefault("torch_version", torch.__version__)
        self.meta.setdefault("precision", "float32 throughout, as torch.optim on float32 parameters")

    def put(self, name, t):
        if name in self.tensors:
            raise KeyError(f"duplicate tensor {name}")
        a = t.detach().to(torch.float32).contiguous().numpy().copy()
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}: non-finite values")
        self.tensors[name] = (list(a.shape), a.reshape(-1))

    def write(self, fname):
        path = os.path.join(OUTDIR, fname)
        n = goldfile.write(path, self.tensors, self.meta, MAX_BYTES)
        print(f"wrote {os.path.relpath(path, ROOT)}: {len(self.tensors)} tensors, {n} bytes")


# ---------------------------------------------------------------------------
# the model

torch.manual_seed(4)
X = (torch.rand(5, 3, dtype=DT) * 2 - 1)
C = (torch.rand(5, 4, dtype=DT) * 0.8 + 0.2)
W0 = (torch.rand(3, 4, dtype=DT) * 2 - 1)
B0 = (torch.rand(4, dtype=DT) * 2 - 1)


def loss_fn(W, b):
    return (((X @ W + b) ** 2) * C).sum()


def run(g, case, make_opt, clip=None, lam=None):
    """Runs STEPS steps and stores the trajectory under case."""
    W = W0.clone().requires_grad_(True)
    b = B0.clone().requires_grad_(True)
    opt = make_opt(W, b)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam) if lam else None
    for k in range(1, STEPS + 1):
        opt.zero_grad()
        loss_fn(W, b).backward()
        if clip is not None:
            norm = torch.nn.utils.clip_grad_norm_([W, b], clip)
            g.put(f"{case}.norm.{k}", norm)
            g.put(f"{case}.lr.{k}", torch.tensor(opt.param_groups[0]["lr"], dtype=DT))
        g.put(f"{case}.gW.{k}", W.grad)
        g.put(f"{case}.gb.{k}", b.grad)
        opt.step()
        if sched:
            sched.step()
        g.put(f"{case}.W.{k}", W)
        g.put(f"{case}.b.{k}", b)
    # the optimizer's state after the last step, under gantry's names
    steps = {}
    for pname, p in (("W", W), ("b", b)):
        for key, v in opt.state[p].items():
            if key == "step":
                steps[pname] = int(v)
            elif v is not None:
                g.put(f"{case}.state.{key}.{pname}", v)
    return steps


def new_golden(kind):
    g = Golden({"steps": STEPS, "optimizer": kind, "loss": "sum((x@W + b)^2 * c)", "cases": {}})
    g.put("x", X)
    g.put("c", C)
    g.put("W.0", W0)
    g.put("b.0", B0)
    return g


# ---------------------------------------------------------------------------
# Adam and AdamW


def adam_cfg(lr, betas=(0.9, 0.999), eps=1e-8, wd=0.0, amsgrad=False):
    return {"LR": lr, "Beta1": betas[0], "Beta2": betas[1], "Eps": eps, "WeightDecay": wd, "AMSGrad": amsgrad}


def gen_adam():
    g = new_golden("Adam")
    cases = {
        "adam": ("Adam", adam_cfg(1e-2)),
        "adam_paper": ("Adam", adam_cfg(1e-4, betas=(0.0, 0.9))),
        "adam_paper_fast": ("Adam", adam_cfg(1e-2, betas=(0.0, 0.9))),
        "adam_l2": ("Adam", adam_cfg(1e-2, wd=0.1)),
        "adamw": ("AdamW", adam_cfg(1e-2, wd=0.1)),
        "adam_amsgrad": ("Adam", adam_cfg(1e-2, betas=(0.5, 0.9), amsgrad=True)),
        "adamw_amsgrad": ("AdamW", adam_cfg(1e-2, wd=0.1, amsgrad=True)),
    }
    for case, (cls, c) in cases.items():
        def make(W, b, cls=cls, c=c):
            ctor = torch.optim.Adam if cls == "Adam" else torch.optim.AdamW
            return ctor([W, b], lr=c["LR"], betas=(c["Beta1"], c["Beta2"]), eps=c["Eps"],
                        weight_decay=c["WeightDecay"], amsgrad=c["AMSGrad"])
        steps = run(g, case, make)
        g.meta["cases"][case] = {"optimizer": cls, "groups": [c], "steps": steps}

    # two groups: W fast with default betas, b slow with the paper's betas
    cW = adam_cfg(1e-2)
    cb = adam_cfg(1e-3, betas=(0.0, 0.9), eps=1e-6, wd=0.05)

    def make_groups(W, b):
        return torch.optim.Adam([
            {"params": [W], "lr": cW["LR"], "betas": (cW["Beta1"], cW["Beta2"]),
             "eps": cW["Eps"], "weight_decay": cW["WeightDecay"], "amsgrad": cW["AMSGrad"]},
            {"params": [b], "lr": cb["LR"], "betas": (cb["Beta1"], cb["Beta2"]),
             "eps": cb["Eps"], "weight_decay": cb["WeightDecay"], "amsgrad": cb["AMSGrad"]},
        ])
    steps = run(g, "adam_groups", make_groups)
    g.meta["cases"]["adam_groups"] = {"optimizer": "Adam", "groups": [cW, cb], "steps": steps}
    g.write("adam.json")


# ---------------------------------------------------------------------------
# SGD


def gen_sgd():
    g = new_golden("SGD")
    cases = {
        "sgd": {"LR": 0.01, "Momentum": 0.0, "Dampening": 0.0, "WeightDecay": 0.0, "Nesterov": False},
        "sgd_l2": {"LR": 0.01, "Momentum": 0.0, "Dampening": 0.0, "WeightDecay": 0.1, "Nesterov": False},
        "sgd_momentum": {"LR": 0.01, "Momentum": 0.9, "Dampening": 0.1, "WeightDecay": 0.0, "Nesterov": False},
        "sgd_nesterov": {"LR": 0.01, "Momentum": 0.9, "Dampening": 0.0, "WeightDecay": 0.01, "Nesterov": True},
    }
    for case, c in cases.items():
        def make(W, b, c=c):
            return torch.optim.SGD([W, b], lr=c["LR"], momentum=c["Momentum"], dampening=c["Dampening"],
                                   weight_decay=c["WeightDecay"], nesterov=c["Nesterov"])
        steps = run(g, case, make)
        g.meta["cases"][case] = {"optimizer": "SGD", "groups": [c], "steps": steps}
    g.write("sgd.json")


# ---------------------------------------------------------------------------
# RMSprop


def gen_rmsprop():
    g = new_golden("RMSprop")
    base = {"LR": 1e-2, "Alpha": 0.99, "Eps": 1e-8, "WeightDecay": 0.0, "Momentum": 0.0, "Centered": False}
    cases = {
        "rmsprop": dict(base),
        "rmsprop_momentum": dict(base, LR=1e-3, Momentum=0.9, WeightDecay=0.01),
        "rmsprop_centered": dict(base, LR=1e-3, Alpha=0.9, Centered=True),
        "rmsprop_centered_momentum": dict(base, LR=1e-3, Alpha=0.9, Momentum=0.5, Centered=True, Eps=1e-6),
    }
    for case, c in cases.items():
        def make(W, b, c=c):
            return torch.optim.RMSprop([W, b], lr=c["LR"], alpha=c["Alpha"], eps=c["Eps"],
                                       weight_decay=c["WeightDecay"], momentum=c["Momentum"],
                                       centered=c["Centered"])
        steps = run(g, case, make)
        g.meta["cases"][case] = {"optimizer": "RMSprop", "groups": [c], "steps": steps}
    g.write("rmsprop.json")


# ---------------------------------------------------------------------------
# clipping and a schedule

WARMUP, DECAY = 3, 17


def warmup_cosine(step):
    """gantry's optim.Warmup(3, optim.Cosine(17))."""
    if step < WARMUP:
        return (step + 1) / WARMUP
    t = step - WARMUP
    if t >= DECAY:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * t / DECAY))


def gen_schedule():
    g = new_golden("SGD")
    c = {"LR": 0.05, "Momentum": 0.9, "Dampening": 0.0, "WeightDecay": 0.0, "Nesterov": False}

    def make(W, b):
        return torch.optim.SGD([W, b], lr=c["LR"], momentum=c["Momentum"])
    steps = run(g, "sgd_clip_warmup_cosine", make, clip=1.0, lam=warmup_cosine)
    g.meta["cases"]["sgd_clip_warmup_cosine"] = {
        "optimizer": "SGD", "groups": [c], "clip": 1.0, "warmup": WARMUP, "cosine": DECAY, "steps": steps}
    g.write("schedule.json")


if __name__ == "__main__":
    gen_adam()
    gen_sgd()
    gen_rmsprop()
    gen_schedule()
