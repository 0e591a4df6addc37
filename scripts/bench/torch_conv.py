#!/usr/bin/env python3
"""PyTorch CPU Conv2d throughput on the shapes of gantry's BenchmarkConv2d.

Shapes are given as gantry names: NxCxHxW->O for a 3x3 convolution with
padding 1, NxCxHxW->OkK for a KxK one with padding K//2, stride 1, with a
bias (as torch.nn.Conv2d). Modes: fwd (no_grad) and fwd+bwd (input and
weight gradients), whose FLOPs count as 3x the forward's. Prints one line per
(mode, shape) with the median GFLOP/s of --reps timed samples of at least
--min-time seconds each:

    RESULT <mode> <shape> <threads> <GFLOP/s>

Run with Debian's python3 (/usr/bin/python3, python3-torch) and with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.
"""
import argparse
import re
import statistics
import sys
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--modes", default="fwd,fwd+bwd")
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--min-time", type=float, default=0.2)
ap.add_argument("shapes", nargs="+")
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def parse(name):
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)x(\d+)->(\d+)(?:k(\d+))?", name)
    if not m:
        sys.exit("bad shape " + name)
    n, c, h, w, o = (int(m.group(i)) for i in range(1, 6))
    k = int(m.group(6) or 3)
    return n, c, h, w, o, k


def fwd(conv, x, gy):
    with torch.no_grad():
        conv(x)


def fwd_bwd(conv, x, gy):
    xx = x.detach().requires_grad_(True)
    conv(xx).backward(gy)


modes = {"fwd": (fwd, 1.0), "fwd+bwd": (fwd_bwd, 3.0)}
for name in args.shapes:
    n, c, h, w, o, k = parse(name)
    conv = torch.nn.Conv2d(c, o, k, padding=k // 2, bias=True)
    x = torch.randn(n, c, h, w)
    gy = torch.randn(n, o, h, w)
    flop = 2.0 * n * o * h * w * c * k * k
    for mode in args.modes.split(","):
        fn, mult = modes[mode]
        fn(conv, x, gy)
        t0 = time.perf_counter()
        fn(conv, x, gy)
        dt = time.perf_counter() - t0
        inner = max(1, int(args.min_time / max(dt, 1e-6) + 0.5))
        v = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn(conv, x, gy)
            v.append(flop * mult * inner / (time.perf_counter() - t0) / 1e9)
        print("RESULT %s %s %d %.2f" % (mode, name, args.threads, statistics.median(v)), flush=True)
