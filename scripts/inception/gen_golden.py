#!/usr/bin/python3
"""Reference values for gantry's metrics/inception package.

Needs Debian's python3-torch (1.13) and python3-torchvision (0.14):

    apt-get install python3-torchvision

Two modes:

    /usr/bin/python3 scripts/inception/gen_golden.py
        writes the small committed goldens, overwriting
            metrics/inception/testdata/golden.safetensors
        whose entries "weights.<case>.<name>" are each case's state_dict and
        "golden.<case>.x" / "golden.<case>.y" its input and output (binary,
        to keep the file small; metadata "cases" describes each case)

    /usr/bin/python3 scripts/inception/gen_golden.py --full DIR
        writes the full-size check into DIR (about 100 MB, not committed):
            DIR/weights.safetensors   a random-weight FID InceptionV3
            DIR/golden.json           inputs and their 2048-d features
        then run  GANTRY_INCEPTION_TEST=DIR go test ./metrics/inception -run Full -v

The network checked is pytorch-fid's FID variant of InceptionV3, built here
the way pytorch-fid builds it: torchvision's Inception3 with the blocks
Mixed_5b-5d, 6b-6e, 7b and 7c replaced by FID blocks whose forward differs
(average pools that do not count padding; a max pool in the last block).
The FID block classes below are written for this script; they subclass
torchvision's blocks and only replace forward, as pytorch-fid does.

Small goldens. Real channel counts give blocks of up to 24 MB of weights, so
the committed cases scale every channel count but the image's 3 down by a
divisor d (passed to torchvision's blocks through their conv_block hook, so
the block code is torchvision's own): the stem (d=8), each block type A, B,
C, D (d=16), E_1 and E_2 (d=32) on small non-square inputs, and the whole
network at d=16 on two 3x37x45 images, resized to 299x299 like the real one
(about 0.8 MB in all).

Weights. Convolutions are drawn as torchvision's init_weights does
(truncated normal, std 0.1). Batch norms get random scales and shifts, and
running statistics measured on a calibration batch (so activations stay of
order one through the depth) and then perturbed at random, so that no
statistic is trivial. Everything is float32 and seeded.

Reference. Features are computed as pytorch-fid's InceptionV3 (resize_input
and normalize_input on) does for images in [0, 1]: gantry's input x in
[-1, 1] is mapped to u = (x + 1) / 2, resized to 299x299 bilinearly
(align_corners=False), mapped back by 2u - 1, and run through torchvision's
Inception3.forward with fc replaced by the identity (so the pool3 features,
after the adaptive average pool, come out). The reference runs in float64
from the float32 weights and inputs; outputs are rounded to float32 once.
The full mode also stores PyTorch's float32 result ("features_f32").
"""

import argparse
import json
import copy
import functools
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models import inception as tvi

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.path.join(ROOT, "metrics", "inception", "testdata")
NAME_META = "gantry.inception.name"


# ---------------------------------------------------------------------------
# pytorch-fid's FID blocks, as subclasses of torchvision's


def _avg_no_pad(x):
    # TensorFlow's average pool divides by the number of real pixels.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDBlockA(tvi.InceptionA):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_no_pad(x))
        return torch.cat([b1, b5, bd, bp], 1)


class FIDBlockC(tvi.InceptionC):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = conv(bd)
        bp = self.branch_pool(_avg_no_pad(x))
        return torch.cat([b1, b7, bd, bp], 1)


class FIDBlockE(tvi.InceptionE):
    """FIDInceptionE_1 (use_max=False) or FIDInceptionE_2 (use_max=True)."""

    def __init__(self, in_channels, conv_block=None, use_max=False):
        super().__init__(in_channels, conv_block=conv_block)
        self.use_max = use_max

    def forward(self, x):
        b1 = self.branch1x1(x)
        t = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        if self.use_max:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_no_pad(x)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


def conv_block(d):
    """torchvision's BasicConv2d with every channel count but 3 divided by d."""

    def scaled(c):
        if c == 3 or d == 1:
            return c
        assert c % d == 0, (c, d)
        return c // d

    def make(cin, cout, **kw):
        return tvi.BasicConv2d(scaled(cin), scaled(cout), **kw)

    return make


def fid_inception(d=1, num_classes=1008):
    """torchvision's inception_v3(weights=None, aux_logits=False,
    init_weights=True) arranged as pytorch-fid's FID network, with channel
    counts divided by d."""
    cb = conv_block(d)
    blocks = [
        cb,
        functools.partial(FIDBlockA, conv_block=cb),
        functools.partial(tvi.InceptionB, conv_block=cb),
        functools.partial(FIDBlockC, conv_block=cb),
        functools.partial(tvi.InceptionD, conv_block=cb),
        functools.partial(FIDBlockE, conv_block=cb),
        tvi.InceptionAux,  # unused: aux_logits=False
    ]
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True,
                                          num_classes=num_classes, inception_blocks=blocks)
    # Mixed_7c is FIDInceptionE_2: same members, max pool in forward.
    e2 = FIDBlockE(2048, conv_block=cb, use_max=True)
    e2.load_state_dict(net.Mixed_7c.state_dict())
    net.Mixed_7c = e2
    if d != 1:
        net.fc = torch.nn.Identity()  # torchvision's fc expects 2048 inputs
    return net


# ---------------------------------------------------------------------------
# random weights


def init_convs(m, g):
    """Convolution weights as torchvision's init_weights draws them (normal,
    std 0.1, truncated to [-2, 2]), from generator g."""
    for mod in m.modules():
        if isinstance(mod, torch.nn.Conv2d):
            v = torch.randn(mod.weight.shape, generator=g) * 0.1
            bad = v.abs() > 2
            while bad.any():
                v[bad] = torch.randn(int(bad.sum()), generator=g) * 0.1
                bad = v.abs() > 2
            with torch.no_grad():
                mod.weight.copy_(v)


def randomize_bn(m, calib, g):
    """Random BN scales and shifts; running statistics from one training-mode
    pass over calib, then perturbed."""
    bns = [b for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for b in bns:
            c = b.num_features
            b.weight.copy_(0.5 + torch.rand(c, generator=g))
            b.bias.copy_(0.4 * torch.rand(c, generator=g) - 0.2)
            b.momentum = 1.0
            b.reset_running_stats()
        m.train()
        m(calib)
        for b in bns:
            c = b.num_features
            sd = b.running_var.sqrt()
            b.running_mean.add_(0.2 * sd * torch.randn(c, generator=g))
            b.running_var.mul_(torch.exp(0.5 * torch.randn(c, generator=g)))
            b.momentum = 0.1
    m.eval()


def f64(m):
    return copy.deepcopy(m).to(torch.float64).eval()


def fid_features(net, x):
    """pytorch-fid's InceptionV3 features of gantry images x in [-1, 1]."""
    u = (x + 1) / 2
    u = F.interpolate(u, size=(299, 299), mode="bilinear", align_corners=False)
    u = 2 * u - 1
    saved = net.fc
    net.fc = torch.nn.Identity()
    try:
        return net(u)
    finally:
        net.fc = saved


def uniform(g, *shape):
    return torch.rand(shape, generator=g) * 2 - 1


# ---------------------------------------------------------------------------
# modes


def small():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(20251125)
    weights, gold = {}, {}
    meta = {
        "generator": "scripts/inception/gen_golden.py",
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "precision": "weights and inputs float32; reference in float64; outputs rounded to float32 once",
        "cases": {},
    }

    class Stem(torch.nn.Module):
        def __init__(self, d):
            super().__init__()
            cb = conv_block(d)
            self.Conv2d_1a_3x3 = cb(3, 32, kernel_size=3, stride=2)
            self.Conv2d_2a_3x3 = cb(32, 32, kernel_size=3)
            self.Conv2d_2b_3x3 = cb(32, 64, kernel_size=3, padding=1)
            self.Conv2d_3b_1x1 = cb(64, 80, kernel_size=1)
            self.Conv2d_4a_3x3 = cb(80, 192, kernel_size=3)

        def forward(self, x):  # the order of torchvision's Inception3._forward
            x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
            x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
            return F.max_pool2d(x, kernel_size=3, stride=2)

    def case(name, d, module, shape, desc):
        init_convs(module, g)
        calib = uniform(g, 4, *shape[1:])
        randomize_bn(module, calib, g)
        x = uniform(g, *shape)
        with torch.no_grad():
            y = f64(module)(x.double())
        for k, v in module.state_dict().items():
            weights[f"{name}.{k}"] = v
        gold[f"{name}.x"] = x
        gold[f"{name}.y"] = y.float()
        meta["cases"][name] = {"divisor": d, "input": list(shape), "output": list(y.shape), "module": desc}
        print(f"{name}: d={d} x{list(shape)} -> y{list(y.shape)}, "
              f"{sum(v.numel() for v in module.state_dict().values())} weights")

    case("stem", 8, Stem(8), (2, 3, 37, 41), "Conv2d_1a..4a with both max pools")
    case("a", 16, FIDBlockA(192, 32, conv_block=conv_block(16)), (2, 12, 9, 7), "FIDInceptionA(192, 32)")
    case("b", 16, tvi.InceptionB(288, conv_block=conv_block(16)), (2, 18, 9, 8), "InceptionB(288)")
    case("c", 16, FIDBlockC(768, 160, conv_block=conv_block(16)), (2, 48, 9, 7), "FIDInceptionC(768, 160)")
    case("d", 16, tvi.InceptionD(768, conv_block=conv_block(16)), (2, 48, 9, 8), "InceptionD(768)")
    case("e1", 32, FIDBlockE(1280, conv_block=conv_block(32)), (2, 40, 6, 5), "FIDInceptionE_1(1280)")
    case("e2", 32, FIDBlockE(2048, conv_block=conv_block(32), use_max=True), (2, 64, 6, 5),
         "FIDInceptionE_2(2048)")

    # The whole network at d=16, through pytorch-fid's preprocessing.
    d = 16
    net = fid_inception(d)  # init_weights=True, from torch's global generator
    randomize_bn(net, F.interpolate((uniform(g, 4, 3, 37, 45) + 1) / 2, size=(299, 299),
                                    mode="bilinear", align_corners=False) * 2 - 1, g)
    x = uniform(g, 2, 3, 37, 45)
    with torch.no_grad():
        y = fid_features(f64(net), x.double())
    for k, v in net.state_dict().items():
        weights[f"net.{k}"] = v
    gold["net.x"], gold["net.y"] = x, y.float()
    meta["cases"]["net"] = {"divisor": d, "input": list(x.shape), "output": list(y.shape),
                            "module": "FID InceptionV3, features as pytorch-fid InceptionV3([3])"}
    print(f"net: d={d} x{list(x.shape)} -> y{list(y.shape)}")

    os.makedirs(TESTDATA, exist_ok=True)
    tensors = {f"weights.{k}": v for k, v in weights.items()}
    tensors.update({f"golden.{k}": v for k, v in gold.items()})
    n = stio.save_safetensors(os.path.join(TESTDATA, "golden.safetensors"), tensors,
                              {"generator": "scripts/inception/gen_golden.py",
                               "cases": json.dumps(meta, sort_keys=True)})
    print(f"wrote golden.safetensors: {n} bytes")


def full(outdir):
    torch.manual_seed(1)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    g = torch.Generator().manual_seed(299)
    net = fid_inception(1)  # init_weights=True draws from torch's global generator
    calib = F.interpolate((uniform(g, 4, 3, 40, 40) + 1) / 2, size=(299, 299), mode="bilinear",
                          align_corners=False) * 2 - 1
    randomize_bn(net, calib, g)
    x = uniform(g, 2, 3, 40, 40)
    with torch.no_grad():
        y32 = fid_features(net, x)
        y = fid_features(f64(net), x.double())
    err = ((y32.double() - y).abs().max() / y.abs().max()).item()
    print(f"torch float32 vs float64: max abs error / max abs = {err:.3g}")
    os.makedirs(outdir, exist_ok=True)
    sd = net.state_dict()  # with fc (1008 classes), which gantry ignores
    n = stio.save_safetensors(os.path.join(outdir, "weights.safetensors"), sd,
                              {NAME_META: "inception-v3-random-test",
                               "generator": "scripts/inception/gen_golden.py --full"})
    print(f"wrote {outdir}/weights.safetensors: {len(sd)} tensors, {n} bytes")
    meta = {"generator": "scripts/inception/gen_golden.py --full", "torch_version": torch.__version__,
            "torchvision_version": torchvision.__version__,
            "features": "float64 reference from float32 weights; features_f32: PyTorch float32",
            "torch_f32_rel_error": err}
    stio.save_golden(os.path.join(outdir, "golden.json"), {"x": x, "features": y, "features_f32": y32}, meta)
    print(f"wrote {outdir}/golden.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", metavar="DIR", help="write the full-size random-weight check into DIR")
    args = ap.parse_args()
    if args.full:
        full(args.full)
    else:
        small()


if __name__ == "__main__":
    main()
