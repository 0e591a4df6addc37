#!/usr/bin/env python3
"""Writes the golden files of gan/torch_test.go: small checkpoints trained by
the PyTorch twin (scripts/torch/paper_gan.py) and the values PyTorch computes
with them, which the Go test reproduces after gan.Load.

For each model (unconditional 32x32 d=2, 2 samples; AC-GAN with conditional
batch norm 16x16 d=1 and AC-GAN with the label concatenated to z 16x16 d=1,
3 samples each, 10 classes; all one channel; widths and sample counts keep
the committed files under 200 KB):

  gan/testdata/torch_<name>.safetensors   the checkpoint, written by
      paper_gan.py's own training loop (one process, 2 iterations of batch 4
      on the shipped MNIST part), so G's running statistics and
      num_batches_tracked are those of real training steps;
  gan/testdata/torch_golden.safetensors   for every model, under "<name>.":
      z [N, z_dim], labels [N] (conditional), real [N, 1, R, R] (shipped MNIST
      images with labels real_labels), alpha [N], xhat = real + alpha (gen -
      real);
      gen      G(z, labels) in evaluation mode (batch statistics; as
               gan's Generator.Generate);
      scores_gen, logits_gen, scores_real, logits_real, scores_xhat,
      logits_xhat: the critic on those images (Critic.ForwardClasses);
      gp, gp_norms: the penalty 10 mean (||grad D(xhat)|| - 1)^2 and its
               per-sample norms (losses.GradientPenaltyAt);
      loss_d:  mean D(gen) - mean D(real) + gp (+ CE(logits_real,
               real_labels)), with grad_d.input.weight and grad_d.output.weight;
      loss_g:  -mean D(G(z)) (+ CE(logits, labels)) with G in training mode,
               with grad_g.blocks.0.norm1.weight and grad_g.output.weight, and the
               running statistics of g.norm and g.blocks.0.norm1 after that
               one training-mode forward (train.*).

The values are computed in float64 from the checkpoint's float32 weights and
stored as float32, so the Go test's difference is gantry's own float32
rounding. Run from the repository root:

    /usr/bin/python3 scripts/torch/gen_gan_golden.py

Needs torch and numpy only (Debian: python3-torch python3-numpy).
"""
import os
import shutil
import sys
import tempfile
from argparse import Namespace

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import paper_gan as pg  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "gan", "testdata")
SHIPPED = os.path.join(ROOT, "data", "shipped")
MAX_BYTES = 200_000

MODELS = [
    # name, config, samples N
    ("uncond", dict(resolution=32, channels=1, width=2, z_dim=16), 2),
    ("condbn", dict(resolution=16, channels=1, width=1, z_dim=8, classes=10, conditioning="batchnorm"), 3),
    ("concat", dict(resolution=16, channels=1, width=1, z_dim=8, classes=10, conditioning="concat"), 3),
]


def train_checkpoint(name, c, path, seed):
    """Train 2 iterations with paper_gan's own loop and keep its file."""
    with tempfile.TemporaryDirectory() as tmp:
        args = Namespace(
            idx_images=os.path.join(SHIPPED, "mnist-train-images-idx3-ubyte.gz"),
            idx_labels=os.path.join(SHIPPED, "mnist-train-labels-idx1-ubyte.gz") if c.get("classes") else None,
            folder=None, resolution=c["resolution"], channels=c["channels"], width=c["width"],
            z_dim=c["z_dim"], classes=c.get("classes", 0), conditioning=c.get("conditioning", ""),
            init=None, batch=4, iters=2, lr=1e-4, ema_decay=0.0, seed=seed, device="cpu", threads=1,
            out=tmp, save_every=0, log_every=100, check_ddp=False)
        pg.train(args)
        shutil.copyfile(os.path.join(tmp, "model-final.safetensors"), path)


def grads(loss, params):
    return [g.detach() for g in torch.autograd.grad(loss, params)]


def golden_for(name, c, n, seed):
    path = os.path.join(OUT, f"torch_{name}.safetensors")
    train_checkpoint(name, c, path, seed)
    cfg, g32, d32, _ = pg.load(path)
    # The file holds exactly what the twin wrote: reload and re-save compare.
    sd = pg.state(g32, d32)
    assert pg.checksum(sd) == pg.stio.load_safetensors(path)[1]["gan.sha256"]
    G, D = g32.double().eval(), d32.double()
    k, r = cfg["classes"], cfg["resolution"]
    gen_ = torch.Generator().manual_seed(1000 + seed)
    z = torch.randn(n, cfg["z_dim"], generator=gen_)
    labels = torch.randint(k, (n,), generator=gen_) if k else None
    imgs = pg.read_idx(os.path.join(SHIPPED, "mnist-train-images-idx3-ubyte.gz"))[:n]
    real = pg.to_unit(imgs, r, cfg["channels"])
    real_labels = torch.from_numpy(pg.read_idx(os.path.join(SHIPPED, "mnist-train-labels-idx1-ubyte.gz"))[:n].astype("int64"))
    alpha = torch.rand(n, generator=gen_)
    out = {"z": z, "real": real, "alpha": alpha}
    if k:
        out["labels"], out["real_labels"] = labels.float(), real_labels.float()

    with torch.no_grad():
        gen = G(z.double(), labels).float()  # eval mode: batch statistics, no update
    xhat = (real.double() + alpha.double().view(n, 1, 1, 1) * (gen.double() - real.double())).float()
    out["gen"], out["xhat"] = gen, xhat
    with torch.no_grad():
        for tag, x in (("gen", gen), ("real", real), ("xhat", xhat)):
            s, lg = D(x.double())
            out["scores_" + tag] = s
            if lg is not None:
                out["logits_" + tag] = lg
    gp, norms = pg.gradient_penalty(D, xhat.double())
    out["gp"], out["gp_norms"] = gp.detach(), norms.detach()

    # One critic loss with the twin's function (alpha already applied: x^ is
    # rebuilt from real and gen by critic_loss, in float64 here).
    loss_d, _ = pg.critic_loss(D, D, real.double(), real_labels if k else None, gen.double(),
                               alpha.double().view(n, 1, 1, 1))
    gi, go = grads(loss_d, [D.input.weight, D.output.weight])
    out["loss_d"], out["grad_d.input.weight"], out["grad_d.output.weight"] = loss_d.detach(), gi, go

    # One generator loss, G in training mode (updates running statistics once).
    G.train()
    loss_g, _ = pg.generator_loss(D, G(z.double(), labels), labels)
    gi, go = grads(loss_g, [G.blocks[0].norm1.weight, G.output.weight])
    out["loss_g"], out["grad_g.blocks.0.norm1.weight"], out["grad_g.output.weight"] = loss_g.detach(), gi, go
    for lname, layer in (("g.norm", G.norm), ("g.blocks.0.norm1", G.blocks[0].norm1)):
        for b in ("running_mean", "running_var", "num_batches_tracked"):
            out[f"train.{lname}.{b}"] = getattr(layer, b).detach().double()
    meta = {f"{name}.config": pg.config_json(cfg), f"{name}.checkpoint": os.path.basename(path)}
    return {f"{name}.{key}": v.detach().to(torch.float32).contiguous() for key, v in out.items()}, meta


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    tensors, meta = {}, {"generator": "scripts/torch/gen_gan_golden.py", "torch.version": torch.__version__,
                         "compute": "float64 from the checkpoints' float32 weights"}
    for i, (name, c, n) in enumerate(MODELS):
        t, m = golden_for(name, c, n, seed=11 + i)
        tensors.update(t)
        meta.update(m)
    gpath = os.path.join(OUT, "torch_golden.safetensors")
    pg.stio.save_safetensors(gpath, tensors, meta)
    total = 0
    for name, _, _ in MODELS + [("golden", None, None)]:
        p = os.path.join(OUT, f"torch_{name}.safetensors")
        total += os.path.getsize(p)
        print(f"{os.path.relpath(p, ROOT)}: {os.path.getsize(p)} bytes")
    print(f"total {total} bytes")
    if total > MAX_BYTES:
        raise SystemExit(f"golden files take {total} bytes > {MAX_BYTES}")


if __name__ == "__main__":
    main()
