#!/usr/bin/env python3
"""PyTorch twin of gantry's package gan: the ResNet WGAN-GP generator and
critic of Wang et al., "Transferring GANs" (ECCV 2018), their AC-GAN variants,
the paper's WGAN-GP training step, and checkpoints that gan.Load reads.

This is how a model is pretrained on GPUs (or several CPU processes) and then
brought into gantry to be transferred. The networks have gantry's state-dict
names, shapes and semantics exactly (gan.NewGenerator, gan.NewCritic):

  G: z (+ one-hot label for "concat") -> Linear -> [8d, s, s] (s = R/16)
     -> 4 residual up-blocks 8d, 8d, 4d, 2d, d -> BN -> ReLU -> 3x3 conv -> tanh
  D: 3x3 conv -> d -> 4 residual down-blocks 2d, 4d, 8d, 8d -> flatten
     -> Linear -> 1 score (and, conditional, Linear -> classes logits)
  block: shortcut(x) + conv2(relu(norm2(conv1(relu(norm1(x)))))), conv1 with
     no bias; up-blocks upsample (nearest, x2) before conv1 and before the 1x1
     shortcut; down-blocks mean-pool 2x2 after conv2 and before the shortcut.

  * G's batch norms always normalise with the batch's statistics, also when
    sampling (G.eval()); running statistics (momentum 0.1, unbiased variance,
    eps 1e-5, num_batches_tracked int64) are updated only in training mode,
    as in gantry. Conditional batch norm takes weight and bias tables
    [classes, C] indexed by each sample's label.
  * The critic's layer norm is per sample over (C, H, W), eps 1e-5, with a
    per-CHANNEL weight and bias [C] (not torch.nn.LayerNorm's elementwise
    affine).
  * Initialisation is the paper's uniform rules, as nn.PaperHeUniform and
    nn.GlorotUniform (the random numbers differ from Go's).

Names: g.input.weight, g.blocks.0.norm1.weight, ..., g.norm.*, g.output.*,
d.input.*, d.blocks.*, d.output.*, d.classifier.* (conditional), and
g_ema.* when an EMA of G is kept (--ema-decay).

Training step (one iteration; gantry's trainer does the same):
  for 5 critic steps, each with a FRESH real batch x (and labels y):
      z ~ N(0, I), fake labels ~ U{0..classes-1}; x~ = G(z) (no graph; G in
      training mode, so its running statistics are updated);
      alpha ~ U[0, 1] per sample, x^ = x + alpha (x~ - x);
      GP = 10 * mean_i (||grad_x^ D(x^)_i|| - 1)^2, the norm per sample over
      (C, H, W);
      L_D = mean D(x~) - mean D(x) + GP (+ CE(D_cls(x), y) when conditional);
      Adam(1e-4, betas (0, 0.9)) step on D.
  then one generator step, at EVERY iteration (also iteration 0, unlike the
  paper's code, which skips G at iteration 0; gantry's trainer does a G step
  every iteration and so does this):
      L_G = -mean D(G(z, y~)) (+ CE(D_cls(G(z, y~)), y~) when conditional);
      Adam(1e-4, betas (0, 0.9)) step on G.

Distributed training, and DDP with the double backward of the penalty:
  Run under torchrun; each process is one rank (gloo on CPU, nccl on GPUs).
  G and D are wrapped in DistributedDataParallel. --batch is the batch of ONE
  process: the effective batch is nproc x batch, and G's batch statistics are
  those of the process's own batch (as plain DDP batch norm). Every rank draws
  its real images from its own shard of one shared shuffle per epoch.

  DDP does not support differentiating through its gradient all-reduce (the
  reduced .grad has no autograd history), and backward(create_graph=True)
  through a DDP output is unsupported (pytorch/pytorch#63812, #63929,
  #47562). The penalty needs neither: it is torch.autograd.grad of the
  critic's scores with respect to the INPUTS x^ (create_graph=True), which
  never runs the parameters' AccumulateGrad nodes that carry DDP's hooks.
  So this script
    - scores the real and fake batches through the DDP-wrapped critic (one
      forward of the concatenated batch: the critic has no cross-sample
      layer, so this equals two forwards);
    - computes the penalty through the bare module (D.module), so DDP's
      forward bookkeeping never sees the twice-differentiated graph;
    - calls ONE plain backward() on L_D. Autograd sums the three terms'
      gradients (the penalty's second-order term included) before each
      parameter's AccumulateGrad runs once, so DDP's hook all-reduces the
      complete gradient once; it averages over ranks, which is the gradient
      of the loss over the union of the ranks' batches.
  The generator step uses D.module too (D's gradients from it are discarded)
  and DDP on G. --check-ddp verifies all of this at the first iteration: it
  recomputes every rank's local gradients without DDP, all-reduces them by
  hand and prints the largest difference from DDP's gradients (exactly 0 in
  the runs of docs/PYTORCH.md; it is 1.5 when the hand all-reduce is left
  out, so the check does see unsynchronised gradients). Passing the DDP
  wrapper itself for the penalty also gave 0 with torch 1.13; the bare
  module is kept because it does not depend on how a DDP version treats
  several forwards and a graph differentiated twice (find_unused_parameters,
  static_graph).

Checkpoints (rank 0): OUT/model-<iteration>.safetensors and
OUT/model-final.safetensors, safetensors with float32 tensors (num_batches_
tracked int64), metadata gantry.version "1", gantry.config (the gan.Config
JSON), gan.kind "model" and gan.sha256 (gan.Checksum). In Go:
m, err := gan.Load("OUT/model-final.safetensors"). OUT/stats.jsonl holds one
JSON line per iteration (rank 0's losses). --init FILE starts from the model
in a gantry file (gan.Save, a trainer checkpoint or this script's), with its
config and fresh Adam states; there is no exact resume.

Data: --idx-images/--idx-labels (MNIST IDX files, gzipped or not) or --folder
(PNG/JPEG/GIF, recursively; first-level sub-folders are classes, sorted by
name; needs Pillow). Bytes v become 2 (v/255 - 0.5); images are resized to
the resolution bilinearly (not bit-identical to gantry's resize) and made
gray (ITU-R 601 luma, gantry's integer formula) or RGB.

Example (2 CPU processes, shipped MNIST part; the --redirects/--tee/--log_dir
flags work around a bug of torch < 2.0's torchrun under Python 3.11, as in
Debian 12, and are harmless elsewhere):
  torchrun --nproc_per_node 2 --redirects 1 --tee 1 --log_dir /tmp/run/logs \\
      scripts/torch/paper_gan.py \\
      --idx-images data/shipped/mnist-train-images-idx3-ubyte.gz \\
      --resolution 32 --channels 1 --width 16 --batch 16 --iters 4 --out /tmp/run
See docs/PYTORCH.md.
"""
import argparse
import copy
import gzip
import hashlib
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "inception"))
import stio  # noqa: E402

EPS = 1e-5
MOMENTUM = 0.1
LAMBDA = 10.0
N_CRITIC = 5

# ---------------------------------------------------------------- config


def make_config(resolution=64, channels=3, width=64, z_dim=128, classes=0, conditioning=""):
    """gan.Config with gantry's defaults (WithDefaults) and checks (Validate)."""
    cfg = {"resolution": resolution or 64, "channels": channels or 3, "width": width or 64,
           "z_dim": z_dim or 128, "classes": classes, "conditioning": conditioning}
    if cfg["classes"] > 0 and not cfg["conditioning"]:
        cfg["conditioning"] = "batchnorm"
    errs = []
    if cfg["resolution"] not in (16, 32, 64, 128):
        errs.append(f"resolution {cfg['resolution']}; want 16, 32, 64 or 128")
    if cfg["channels"] not in (1, 3):
        errs.append(f"channels {cfg['channels']}; want 1 or 3")
    if not 1 <= cfg["width"] <= 1024:
        errs.append(f"width {cfg['width']}; want 1 to 1024")
    if not 1 <= cfg["z_dim"] <= 4096:
        errs.append(f"z_dim {cfg['z_dim']}; want 1 to 4096")
    if not 0 <= cfg["classes"] <= 100000:
        errs.append(f"classes {cfg['classes']}; want 0 to 100000")
    if cfg["classes"] == 0 and cfg["conditioning"]:
        errs.append("conditioning set for an unconditional model")
    if cfg["classes"] > 0 and cfg["conditioning"] not in ("batchnorm", "concat"):
        errs.append(f"conditioning {cfg['conditioning']!r}; want 'batchnorm' or 'concat'")
    if errs:
        raise ValueError("invalid config: " + "; ".join(errs))
    return cfg


def config_json(cfg):
    """The JSON gantry writes for a gan.Config (Go field order, conditioning
    omitted when empty)."""
    out = {k: cfg[k] for k in ("resolution", "channels", "width", "z_dim", "classes")}
    if cfg["conditioning"]:
        out["conditioning"] = cfg["conditioning"]
    return json.dumps(out, separators=(",", ":"))


# ---------------------------------------------------------------- layers


class BatchNorm(nn.Module):
    """nn.BatchNorm2d with AlwaysBatchStats: batch statistics in both modes,
    running statistics updated in training mode only."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def normalize(self, x):
        if self.training:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
            return F.batch_norm(x, self.running_mean, self.running_var, None, None, True, MOMENTUM, EPS)
        return F.batch_norm(x, None, None, None, None, True, 0.0, EPS)

    def forward(self, x, labels=None):
        c = self.weight.shape[0]
        return self.normalize(x) * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)


class CondBatchNorm(BatchNorm):
    """nn.CondBatchNorm2d: BatchNorm whose scale and offset are the rows of
    weight [K, C] and bias [K, C] at each sample's label."""

    def __init__(self, k, c):
        super().__init__(c)
        self.weight = nn.Parameter(torch.ones(k, c))
        self.bias = nn.Parameter(torch.zeros(k, c))

    def forward(self, x, labels=None):
        n, c = x.shape[0], x.shape[1]
        return self.normalize(x) * self.weight[labels].view(n, c, 1, 1) + self.bias[labels].view(n, c, 1, 1)


class LayerNorm(nn.Module):
    """nn.LayerNorm: per sample over (C, H, W), per-channel weight and bias."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x, labels=None):
        c = self.weight.shape[0]
        y = F.layer_norm(x, x.shape[1:], None, None, EPS)
        return y * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)


class ResBlock(nn.Module):
    """nn.ResidualBlock with ResampleUp (up=True) or ResampleDown."""

    def __init__(self, cin, cout, up, norm):
        super().__init__()
        self.up = up
        mid = cout if up else cin
        self.norm1 = norm(cin)
        self.conv1 = nn.Conv2d(cin, mid, 3, padding=1, bias=False)
        self.norm2 = norm(mid)
        self.conv2 = nn.Conv2d(mid, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, labels=None):
        if self.up:
            sc = self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))
            h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2, mode="nearest")
            h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
            return sc + h
        sc = self.shortcut(F.avg_pool2d(x, 2))
        h = self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x, labels))), labels)))
        return sc + F.avg_pool2d(h, 2)


# ---------------------------------------------------------------- init


def uniform_std_(w, std, gen):
    b = math.sqrt(3) * std
    with torch.no_grad():
        w.copy_(torch.rand(w.shape, generator=gen, dtype=torch.float64) * (2 * b) - b)


def fans(w):
    recept = 1
    for d in w.shape[2:]:
        recept *= d
    return w.shape[1] * recept, w.shape[0] * recept


def paper_he_uniform_(w, gen):
    """nn.PaperHeUniform with stride 1: sigma = sqrt(4 / (fan_in + fan_out))."""
    fi, fo = fans(w)
    uniform_std_(w, math.sqrt(4.0 / (fi + fo)), gen)


def glorot_uniform_(w, gen):
    """nn.GlorotUniform: sigma = sqrt(2 / (fan_in + fan_out))."""
    fi, fo = fans(w)
    uniform_std_(w, math.sqrt(2.0 / (fi + fo)), gen)


def _init_blocks(blocks, gen):
    for b in blocks:
        paper_he_uniform_(b.conv1.weight, gen)
        paper_he_uniform_(b.conv2.weight, gen)
        glorot_uniform_(b.shortcut.weight, gen)
        nn.init.zeros_(b.conv2.bias)
        nn.init.zeros_(b.shortcut.bias)


# ---------------------------------------------------------------- networks


class Generator(nn.Module):
    """gan.Generator."""

    def __init__(self, cfg, gen=None):
        super().__init__()
        self.cfg = cfg
        d, s, k = cfg["width"], cfg["resolution"] // 16, cfg["classes"]
        zin = cfg["z_dim"] + (k if cfg["conditioning"] == "concat" else 0)
        if cfg["conditioning"] == "batchnorm":
            def norm(c):
                return CondBatchNorm(k, c)
        else:
            norm = BatchNorm
        self.input = nn.Linear(zin, 8 * d * s * s)
        chans = [8 * d, 8 * d, 4 * d, 2 * d, d]
        self.blocks = nn.ModuleList([ResBlock(chans[i], chans[i + 1], True, norm) for i in range(4)])
        self.norm = norm(d)
        self.output = nn.Conv2d(d, cfg["channels"], 3, padding=1)
        if gen is not None:  # gan.NewGenerator's order: input, blocks, output
            glorot_uniform_(self.input.weight, gen)
            nn.init.zeros_(self.input.bias)
            _init_blocks(self.blocks, gen)
            paper_he_uniform_(self.output.weight, gen)
            nn.init.zeros_(self.output.bias)

    def forward(self, z, labels=None):
        cfg = self.cfg
        if z.dim() != 2 or z.shape[1] != cfg["z_dim"]:
            raise ValueError(f"z {tuple(z.shape)}; want [N, {cfg['z_dim']}]")
        check_labels(cfg, labels, z.shape[0])
        if cfg["conditioning"] == "concat":
            z = torch.cat([z, F.one_hot(labels, cfg["classes"]).to(z.dtype)], 1)
        bn_labels = labels if cfg["conditioning"] == "batchnorm" else None
        s = cfg["resolution"] // 16
        h = self.input(z).view(z.shape[0], 8 * cfg["width"], s, s)
        for b in self.blocks:
            h = b(h, bn_labels)
        return torch.tanh(self.output(F.relu(self.norm(h, bn_labels))))


class Critic(nn.Module):
    """gan.Critic; forward returns (scores [N, 1], logits [N, classes] or None)."""

    def __init__(self, cfg, gen=None):
        super().__init__()
        self.cfg = cfg
        d, s = cfg["width"], cfg["resolution"] // 16
        self.input = nn.Conv2d(cfg["channels"], d, 3, padding=1)
        chans = [d, 2 * d, 4 * d, 8 * d, 8 * d]
        self.blocks = nn.ModuleList([ResBlock(chans[i], chans[i + 1], False, LayerNorm) for i in range(4)])
        self.output = nn.Linear(8 * d * s * s, 1)
        self.classifier = nn.Linear(8 * d * s * s, cfg["classes"]) if cfg["classes"] > 0 else None
        if gen is not None:  # gan.NewCritic's order: input, blocks, output, classifier
            glorot_uniform_(self.input.weight, gen)
            nn.init.zeros_(self.input.bias)
            _init_blocks(self.blocks, gen)
            for lin in (self.output, self.classifier):
                if lin is not None:
                    glorot_uniform_(lin.weight, gen)
                    nn.init.zeros_(lin.bias)

    def forward(self, x):
        cfg = self.cfg
        want = (cfg["channels"], cfg["resolution"], cfg["resolution"])
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"images {tuple(x.shape)}; want [N, {want[0]}, {want[1]}, {want[2]}]")
        h = self.input(x)
        for b in self.blocks:
            h = b(h)
        h = h.flatten(1)
        return self.output(h), (self.classifier(h) if self.classifier is not None else None)


def check_labels(cfg, labels, n):
    if cfg["classes"] == 0 and labels is not None:
        raise ValueError("labels given to an unconditional model")
    if cfg["classes"] > 0:
        if labels is None or labels.shape != (n,):
            raise ValueError(f"a conditional model needs {n} labels")
        if int(labels.min()) < 0 or int(labels.max()) >= cfg["classes"]:
            raise ValueError(f"label outside [0, {cfg['classes']})")


# ---------------------------------------------------------------- losses


def gradient_penalty(critic, x, lam=LAMBDA):
    """losses.GradientPenaltyAt: lam * mean_i (||grad D(x)_i|| - 1)^2 at the
    points x, the norm per sample over (C, H, W). critic returns (scores,
    logits). Returns (penalty, per-sample norms)."""
    x = x.detach().requires_grad_(True)
    scores, _ = critic(x)
    (g,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    norms = g.flatten(1).norm(dim=1)
    return lam * ((norms - 1) ** 2).mean(), norms


def critic_loss(d_net, d_pen, real, real_labels, fake, alpha):
    """L_D of one critic step: d_net scores real and fake (the DDP wrapper in
    training), d_pen computes the penalty (the bare module)."""
    n = real.shape[0]
    scores, logits = d_net(torch.cat([real, fake]))
    w = scores[:n].mean() - scores[n:].mean()  # Wasserstein estimate
    gp, _ = gradient_penalty(d_pen, real + alpha * (fake - real))
    loss = -w + gp
    ce = None
    if logits is not None:
        ce = F.cross_entropy(logits[:n], real_labels)
        loss = loss + ce
    return loss, {"loss_d": loss, "wdist": w, "gp": gp, "ce_d": ce}


def generator_loss(d, fake, fake_labels):
    """L_G of one generator step."""
    scores, logits = d(fake)
    loss = -scores.mean()
    ce = None
    if logits is not None:
        ce = F.cross_entropy(logits, fake_labels)
        loss = loss + ce
    return loss, {"loss_g": loss, "ce_g": ce}


# ---------------------------------------------------------------- files


def state(g, d, ema=None):
    """The model's tensors under gantry's file names, as float32 (int64
    num_batches_tracked stays int64)."""
    sd = {}
    for prefix, net in (("g.", g), ("d.", d), ("g_ema.", ema)):
        if net is None:
            continue
        for k, v in net.state_dict().items():
            v = v.detach().cpu()
            sd[prefix + k] = v if v.dtype == torch.long else v.to(torch.float32).contiguous()
    return sd


def checksum(sd):
    """gan.Checksum: SHA-256 over the names in byte order, each name, a zero
    byte, the shape as decimals joined by commas, a zero byte, and the values
    as little-endian float32 (an int64 buffer as the float32 gantry reads)."""
    h = hashlib.sha256()
    for k in sorted(sd, key=lambda s: s.encode("utf-8")):
        t = sd[k].detach().cpu().to(torch.float32).contiguous()
        h.update(k.encode("utf-8") + b"\0" + ",".join(str(n) for n in t.shape).encode() + b"\0")
        h.update(t.numpy().astype("<f4", copy=False).tobytes())
    return h.hexdigest()


def save(path, cfg, g, d, ema=None, extra_meta=None):
    """Write a gan.Load-able file atomically (temporary file, then rename)."""
    sd = state(g, d, ema)
    meta = {"gantry.version": "1", "gantry.config": config_json(cfg), "gan.kind": "model",
            "gan.sha256": checksum(sd), "gan.source": "scripts/torch/paper_gan.py",
            "torch.version": torch.__version__}
    meta.update(extra_meta or {})
    tmp = os.path.join(os.path.dirname(path) or ".", "." + os.path.basename(path) + ".tmp")
    stio.save_safetensors(tmp, sd, meta)
    os.replace(tmp, path)
    return sd


def load(path):
    """Read a gantry gan file (gan.Save, a trainer checkpoint's model or this
    script's): returns (cfg, G, D, EMA or None), checking the checksum."""
    sd, meta = stio.load_safetensors(path)
    c = json.loads(meta["gantry.config"])
    cfg = make_config(c.get("resolution", 0), c.get("channels", 0), c.get("width", 0),
                      c.get("z_dim", 0), c.get("classes", 0), c.get("conditioning", ""))
    if "gan.sha256" in meta and checksum(sd) != meta["gan.sha256"]:
        raise ValueError(f"{path}: checksum mismatch")
    g, d = Generator(cfg), Critic(cfg)
    ema = Generator(cfg) if any(k.startswith("g_ema.") for k in sd) else None
    for prefix, net in (("g.", g), ("d.", d), ("g_ema.", ema)):
        if net is None:
            continue
        sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        want = net.state_dict()
        sub = {k: v.to(want[k].dtype) if k in want else v for k, v in sub.items()}
        net.load_state_dict(sub, strict=True)
    return cfg, g, d, ema


# ---------------------------------------------------------------- data


def read_idx(path):
    """An IDX file (gzipped or not) as a numpy uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_folder(root):
    """Images under root as a list of uint8 arrays [H, W, 3] (RGB, alpha
    composited on white), with labels from first-level sub-folders (-1 for
    images directly in root) and the class names, in gantry's order."""
    from PIL import Image  # Debian: python3-pil; pip: pillow

    files, tops = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
        for name in filenames:
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in (".png", ".jpg", ".jpeg", ".gif"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            files.append(path)
            tops.append(rel.split(os.sep)[0] if os.sep in rel else "")
    order = sorted(range(len(files)), key=lambda i: files[i])
    files, tops = [files[i] for i in order], [tops[i] for i in order]
    classes = sorted({t for t in tops if t})
    images = []
    for path in files:
        im = Image.open(path)
        im.load()
        if im.mode not in ("RGB", "L"):
            rgba = im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        images.append(np.asarray(im.convert("RGB")))
    labels = [classes.index(t) if t else -1 for t in tops]
    return images, np.array(labels, dtype=np.int64), classes


def to_unit(u8, resolution, channels):
    """uint8 images [N, H, W] or [N, H, W, 3] -> float32 [N, C, R, R] in
    [-1, 1], as gantry's data package (luma, scaling), resized bilinearly."""
    a = torch.from_numpy(np.array(u8, copy=True))
    if a.dim() == 4 and channels == 1:  # gantry's integer ITU-R 601 luma
        a = a.to(torch.int64)
        a = ((19595 * a[..., 0] + 38470 * a[..., 1] + 7471 * a[..., 2] + (1 << 15)) >> 16).to(torch.uint8)
    a = a.unsqueeze(1) if a.dim() == 3 else a.permute(0, 3, 1, 2)
    x = (2 * (a.to(torch.float64) / 255 - 0.5)).to(torch.float32)
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[2] != resolution or x.shape[3] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return x.contiguous()


def load_data(args, cfg):
    """The training images [N, C, R, R] and labels [N] (-1: unlabeled)."""
    r, c = cfg["resolution"], cfg["channels"]
    if args.idx_images:
        images = read_idx(args.idx_images)
        labels = read_idx(args.idx_labels).astype(np.int64) if args.idx_labels else np.full(len(images), -1)
        x = to_unit(images, r, c)
    else:
        imgs, labels, _ = read_folder(args.folder)
        x = torch.cat([to_unit(im[None], r, c) for im in imgs])
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    if cfg["classes"] > 0 and (int(y.min()) < 0 or int(y.max()) >= cfg["classes"]):
        raise SystemExit(f"a conditional model with {cfg['classes']} classes needs labels in [0, {cfg['classes']})")
    return x, y


class Shards:
    """Batches of one rank: every epoch one shuffle of all images, the same on
    every rank (seeded by seed and epoch); rank r takes positions r, r+W, ...
    Batches run across epoch boundaries."""

    def __init__(self, n, batch, rank, world, seed):
        self.n, self.batch, self.rank, self.world, self.seed = n, batch, rank, world, seed
        self.epoch, self.pos, self.idx = -1, 0, torch.empty(0, dtype=torch.long)

    def next(self):
        out, have = [], 0
        while have < self.batch:
            if self.pos >= len(self.idx):
                self.epoch += 1
                g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
                self.idx, self.pos = torch.randperm(self.n, generator=g)[self.rank::self.world], 0
            k = min(self.batch - have, len(self.idx) - self.pos)
            out.append(self.idx[self.pos:self.pos + k])
            self.pos, have = self.pos + k, have + k
        return torch.cat(out)


# ---------------------------------------------------------------- training


def ema_update(ema, g, decay):
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), g.parameters()):
            pe.mul_(decay).add_(p, alpha=1 - decay)
        for be, b in zip(ema.buffers(), g.buffers()):
            be.copy_(b)


def check_ddp(name, net, local_loss_fn, world):
    """Compare DDP's averaged .grad with local gradients all-reduced by hand."""
    params = [p for p in net.parameters() if p.requires_grad]
    saved = [b.clone() for b in net.buffers()]  # the extra forward must not count
    local = torch.autograd.grad(local_loss_fn(), params, allow_unused=True)
    with torch.no_grad():
        for b, v in zip(net.buffers(), saved):
            b.copy_(v)
    worst = 0.0
    for p, g in zip(params, local):
        g = torch.zeros_like(p) if g is None else g.detach().clone()
        if world > 1:
            dist.all_reduce(g)
            g /= world
        worst = max(worst, (g - p.grad).abs().max().item())
    return f"check-ddp {name}: max |DDP grad - hand all-reduced grad| = {worst:.3g}"


def train(args):
    distributed = "WORLD_SIZE" in os.environ
    cuda = args.device == "cuda"
    if distributed:
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(args.threads)

    if args.init:
        cfg, G, D, ema = load(args.init)
    else:
        cfg = make_config(args.resolution, args.channels, args.width, args.z_dim, args.classes, args.conditioning)
        gen = torch.Generator().manual_seed(args.seed)  # same on every rank
        G, D, ema = Generator(cfg, gen), Critic(cfg, gen), None
    if args.ema_decay > 0 and ema is None:
        ema = copy.deepcopy(G)
    x_all, y_all = load_data(args, cfg)
    G, D = G.to(device).train(), D.to(device).train()
    if ema is not None:
        ema = ema.to(device).train()
    if distributed:
        ids = [local_rank] if cuda else None
        Gd, Dd = DDP(G, device_ids=ids), DDP(D, device_ids=ids)
    else:
        Gd, Dd = G, D
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.0, 0.9))
    shards = Shards(len(x_all), args.batch, rank, world, args.seed)
    rng = torch.Generator(device=device).manual_seed(args.seed * 1000 + 1 + rank)
    k, b, zd = cfg["classes"], args.batch, cfg["z_dim"]

    def fake_labels():
        return torch.randint(k, (b,), generator=rng, device=device) if k > 0 else None

    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        print(f"paper_gan: {config_json(cfg)} on {world} process(es), {device}, batch {b} per process, "
              f"{len(x_all)} images", flush=True)
    stats = open(os.path.join(args.out, "stats.jsonl"), "a") if rank == 0 else None
    t_start = time.perf_counter()
    for it in range(args.iters):
        t0 = time.perf_counter()
        for step in range(N_CRITIC):
            idx = shards.next()
            real = x_all[idx].to(device, non_blocking=True)
            real_labels = y_all[idx].to(device) if k > 0 else None
            z = torch.randn(b, zd, generator=rng, device=device)
            with torch.no_grad():
                fake = Gd(z, fake_labels())
            alpha = torch.rand(b, 1, 1, 1, generator=rng, device=device)
            loss_d, sd_ = critic_loss(Dd, D, real, real_labels, fake, alpha)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            if args.check_ddp and it == 0 and step == 0:
                msg = check_ddp("critic", D, lambda: critic_loss(D, D, real, real_labels, fake, alpha)[0], world)
                if rank == 0:
                    print(msg, flush=True)
            opt_d.step()
        for p in D.parameters():
            p.requires_grad_(False)
        z, yf = torch.randn(b, zd, generator=rng, device=device), fake_labels()
        loss_g, sg = generator_loss(D, Gd(z, yf), yf)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if args.check_ddp and it == 0:
            msg = check_ddp("generator", G, lambda: generator_loss(D, G(z, yf), yf)[0], world)
            if rank == 0:
                print(msg, flush=True)
        opt_g.step()
        for p in D.parameters():
            p.requires_grad_(True)
        if ema is not None:
            ema_update(ema, G, args.ema_decay)
        if cuda:
            torch.cuda.synchronize()
        sec = time.perf_counter() - t0
        if rank == 0:
            line = {"iteration": it, "seconds": round(sec, 4)}
            for key, v in list(sd_.items()) + list(sg.items()):
                if v is not None:
                    line[key] = round(v.item(), 6)
            stats.write(json.dumps(line) + "\n")
            stats.flush()
            if it % args.log_every == 0 or it == args.iters - 1:
                print(json.dumps(line), flush=True)
            if args.save_every > 0 and (it + 1) % args.save_every == 0:
                save(os.path.join(args.out, f"model-{it + 1:06d}.safetensors"), cfg, G, D, ema,
                     {"gan.iterations": str(it + 1)})
    if rank == 0:
        path = os.path.join(args.out, "model-final.safetensors")
        save(path, cfg, G, D, ema, {"gan.iterations": str(args.iters)})
        total = time.perf_counter() - t_start
        print(f"paper_gan: {args.iters} iterations in {total:.1f} s ({total / max(args.iters, 1):.3f} s/iteration); "
              f"wrote {path}", flush=True)
        stats.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--idx-images", help="IDX image file (MNIST format, .gz or not)")
    src.add_argument("--folder", help="folder of PNG/JPEG/GIF images (sub-folders are classes)")
    ap.add_argument("--idx-labels", help="IDX label file for --idx-images")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--width", type=int, default=16, help="d (64 in the paper)")
    ap.add_argument("--z-dim", type=int, default=128)
    ap.add_argument("--classes", type=int, default=0, help="> 0: conditional (AC-GAN)")
    ap.add_argument("--conditioning", default="", choices=["", "batchnorm", "concat"])
    ap.add_argument("--init", help="start from this gantry gan file (its config wins)")
    ap.add_argument("--batch", type=int, default=64, help="batch of ONE process")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--ema-decay", type=float, default=0.0, help="> 0: keep g_ema with this decay")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    ap.add_argument("--out", required=True, help="folder for checkpoints and stats.jsonl")
    ap.add_argument("--save-every", type=int, default=0, help="> 0: also a checkpoint every N iterations")
    ap.add_argument("--log-every", type=int, default=1)
    ap.add_argument("--check-ddp", action="store_true", help="verify DDP's gradients at iteration 0")
    args = ap.parse_args()
    train(args)


if __name__ == "__main__":
    main()
