#!/usr/bin/env python3
"""Seconds per WGAN-GP iteration of the paper's ResNet in PyTorch, the
workload of gantry's internal/cmd/stepprof: the same networks at 32x32, one
channel, widths d, with 5 critic steps (gradient penalty, lambda 10) and one
generator step per iteration, Adam(1e-4, betas (0, 0.9)).

G: Linear(128 -> 8d*2*2), four upsampling residual blocks (8d, 8d, 4d, 2d, d)
with batch norm, BN, ReLU, 3x3 conv to 1 channel, tanh. D: 3x3 conv 1 -> d,
four downsampling residual blocks (2d, 4d, 8d, 8d) with per-sample layer norm
over (C, H, W), Linear -> 1. A block is
shortcut(x) + conv2(relu(norm2(conv1(relu(norm1(x)))))), with nearest 2x
upsampling before conv1 (and before the 1x1 shortcut) in G, and 2x2 mean
pooling after conv2 (and before the shortcut) in D.

Usage: paper_resnet.py --threads T --iters N d:batch [d:batch ...]
Prints: RESULT iter d=<d> batch=<b> <threads> <s/iter>
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1, c, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + 1e-5) * self.w + self.b


class Block(nn.Module):
    def __init__(self, cin, cout, up, norm):
        super().__init__()
        self.up = up
        mid = cout if up else cin
        self.norm1, self.norm2 = norm(cin), norm(mid)
        self.conv1 = nn.Conv2d(cin, mid, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(mid, cout, 3, padding=1)
        self.short = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        if self.up:
            s = self.short(F.interpolate(x, scale_factor=2))
            h = F.interpolate(F.relu(self.norm1(x)), scale_factor=2)
            h = self.conv2(F.relu(self.norm2(self.conv1(h))))
            return s + h
        s = self.short(F.avg_pool2d(x, 2))
        h = self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))
        return s + F.avg_pool2d(h, 2)


class Gen(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self.lin = nn.Linear(128, 8 * d * 4)
        chans = [8 * d, 8 * d, 4 * d, 2 * d, d]
        self.blocks = nn.Sequential(*[Block(chans[i], chans[i + 1], True, nn.BatchNorm2d) for i in range(4)])
        self.bn = nn.BatchNorm2d(d)
        self.out = nn.Conv2d(d, 1, 3, padding=1)

    def forward(self, z):
        h = self.blocks(self.lin(z).view(-1, 8 * self.d, 2, 2))
        return torch.tanh(self.out(F.relu(self.bn(h))))


class Disc(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.inp = nn.Conv2d(1, d, 3, padding=1)
        chans = [d, 2 * d, 4 * d, 8 * d, 8 * d]
        self.blocks = nn.Sequential(*[Block(chans[i], chans[i + 1], False, LayerNorm) for i in range(4)])
        self.out = nn.Linear(8 * d * 4, 1)

    def forward(self, x):
        return self.out(self.blocks(self.inp(x)).flatten(1))


def iteration(g, d, og, od, batch):
    for _ in range(5):
        real = torch.rand(batch, 1, 32, 32) * 2 - 1
        with torch.no_grad():
            fake = g(torch.randn(batch, 128))
        eps = torch.rand(batch, 1, 1, 1)
        xh = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(d(xh).sum(), xh, create_graph=True)
        gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        loss = d(fake).mean() - d(real).mean() + 10 * gp
        od.zero_grad()
        loss.backward()
        od.step()
    loss = -d(g(torch.randn(batch, 128))).mean()
    og.zero_grad()
    loss.backward()
    og.step()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("configs", nargs="+", help="d:batch")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for cfg in args.configs:
        dim, batch = (int(v) for v in cfg.split(":"))
        g, d = Gen(dim), Disc(dim)
        og = torch.optim.Adam(g.parameters(), 1e-4, betas=(0, 0.9))
        od = torch.optim.Adam(d.parameters(), 1e-4, betas=(0, 0.9))
        iteration(g, d, og, od, batch)  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.iters):
            iteration(g, d, og, od, batch)
        dt = (time.perf_counter() - t0) / args.iters
        print("RESULT iter d=%d batch=%d %d %.3f" % (dim, batch, args.threads, dt), flush=True)
