#!/usr/bin/python3
"""PyTorch reference values for gantry's data/augment tests.

    /usr/bin/python3 scripts/golden/gen_data_augment.py

needs Debian's python3-torch (tested with 1.13) and python3-numpy under
/usr/bin/python3, and writes (overwriting) data/testdata/augment.json in the
"gantry-golden-1" format read by internal/golden.

Each case fixes the random parameters (stored in the file as float tensors,
named <case>.<param>), draws an input x as float32 with a fixed seed, and
stores the augmented output y and the gradient of sum(r * y) with respect to
x for a stored random r. The DiffAugment functions below follow
mit-han-lab/data-efficient-gans DiffAugment_pytorch.py with the random draws
replaced by the given parameters (translation by the padded gather,
cutout by the clamped-grid mask, as there); the ADA functions follow the
colour matrices of NVlabs/stylegan2-ada-pytorch training/augment.py, with
torch.flip, torch.rot90 and reflect padding for the pixel moves.
Arithmetic is float64 from the float32 inputs; outputs are rounded to
float32 once.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "data", "testdata", "augment.json")
DT = torch.float64
torch.set_num_threads(1)


def f32(*shape):
    return (torch.rand(shape, dtype=torch.float32) * 2 - 1).to(DT)


# --- DiffAugment with given parameters --------------------------------------


def brightness(x, u):
    return x + (u.view(-1, 1, 1, 1) - 0.5)


def saturation(x, u):
    m = x.mean(dim=1, keepdim=True)
    return (x - m) * (u.view(-1, 1, 1, 1) * 2) + m


def contrast(x, u):
    m = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - m) * (u.view(-1, 1, 1, 1) + 0.5) + m


def translation(x, ty, tx):
    b, _, h, w = x.shape
    ty = ty.view(-1, 1, 1)
    tx = tx.view(-1, 1, 1)
    gb, gy, gx = torch.meshgrid(torch.arange(b), torch.arange(h), torch.arange(w), indexing="ij")
    gy = torch.clamp(gy + ty + 1, 0, h + 1)
    gx = torch.clamp(gx + tx + 1, 0, w + 1)
    xp = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return xp.permute(0, 2, 3, 1).contiguous()[gb, gy, gx].permute(0, 3, 1, 2)


def cutout(x, oy, ox):
    b, _, h, w = x.shape
    sh, sw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    gb, gy, gx = torch.meshgrid(torch.arange(b), torch.arange(sh), torch.arange(sw), indexing="ij")
    gy = torch.clamp(gy + oy.view(-1, 1, 1) - sh // 2, min=0, max=h - 1)
    gx = torch.clamp(gx + ox.view(-1, 1, 1) - sw // 2, min=0, max=w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype)
    mask[gb, gy, gx] = 0
    return x * mask.unsqueeze(1)


# --- ADA subset ---------------------------------------------------------------


def geometric(x, flip, rot, dy, dx):
    outs = []
    s = int(max(dy.abs().max(), dx.abs().max()))
    h, w = x.shape[2], x.shape[3]
    for n in range(x.shape[0]):
        xi = x[n : n + 1]
        if flip[n]:
            xi = torch.flip(xi, dims=[3])
        xi = torch.rot90(xi, int(rot[n]), dims=[2, 3])
        if s > 0:
            xi = F.pad(xi, [s, s, s, s], mode="reflect")
            y0, x0 = s + int(dy[n]), s + int(dx[n])
            xi = xi[:, :, y0 : y0 + h, x0 : x0 + w]
        outs.append(xi)
    return torch.cat(outs, 0)


def color_matrices(b, c, lumaflip, theta, s):
    n = b.shape[0]
    I4 = torch.eye(4, dtype=DT)
    v = torch.tensor([1, 1, 1, 0], dtype=DT) / math.sqrt(3)
    vv = torch.outer(v, v)
    mats = []
    for k in range(n):
        C = I4.clone()
        T = I4.clone()
        T[:3, 3] = b[k]
        C = T @ C
        S = I4.clone()
        S[0, 0] = S[1, 1] = S[2, 2] = c[k]
        C = S @ C
        C = (I4 - 2 * vv * lumaflip[k]) @ C
        th = theta[k]
        sn, cs = torch.sin(th), torch.cos(th)
        cc = 1 - cs
        vx, vy, vz = v[0], v[1], v[2]
        R = torch.stack([
            torch.stack([vx * vx * cc + cs, vx * vy * cc - vz * sn, vx * vz * cc + vy * sn, torch.zeros((), dtype=DT)]),
            torch.stack([vy * vx * cc + vz * sn, vy * vy * cc + cs, vy * vz * cc - vx * sn, torch.zeros((), dtype=DT)]),
            torch.stack([vz * vx * cc - vy * sn, vz * vy * cc + vx * sn, vz * vz * cc + cs, torch.zeros((), dtype=DT)]),
            torch.tensor([0, 0, 0, 1], dtype=DT),
        ])
        C = R @ C
        C = (vv + (I4 - vv) * s[k]) @ C
        mats.append(C)
    return torch.stack(mats)


def color(x, C):
    n, ch, h, w = x.shape
    y = x.reshape(n, ch, h * w)
    if ch == 3:
        y = C[:, :3, :3] @ y + C[:, :3, 3:]
    else:
        C = C[:, :3, :].mean(dim=1, keepdim=True)
        y = y * C[:, :, :3].sum(dim=2, keepdim=True) + C[:, :, 3:]
    return y.reshape(n, ch, h, w)


# --- cases ---------------------------------------------------------------------

tensors = {}


def put(name, t):
    tensors[name] = t.detach().to(DT)


def case(name, shape, params, fn):
    x = f32(*shape).requires_grad_(True)
    y = fn(x)
    r = f32(*y.shape)
    (g,) = torch.autograd.grad((y * r).sum(), x)
    put(name + ".x", x)
    put(name + ".r", r)
    put(name + ".y", y)
    put(name + ".gx", g)
    for k, v in params.items():
        put(name + "." + k, torch.as_tensor(v, dtype=DT))


def main():
    torch.manual_seed(20201)
    u3 = lambda: torch.rand(3, dtype=torch.float32).to(DT)

    p = {"u": u3()}
    case("brightness", (3, 3, 5, 4), p, lambda x: brightness(x, p["u"]))
    p2 = {"u": u3()}
    case("saturation", (3, 3, 5, 4), p2, lambda x: saturation(x, p2["u"]))
    p3 = {"u": u3()}
    case("contrast", (3, 2, 5, 4), p3, lambda x: contrast(x, p3["u"]))
    p4 = {"dy": [-2, 0, 3], "dx": [1, -1, 0]}
    case("translate", (3, 2, 9, 7), p4, lambda x: translation(x, torch.tensor(p4["dy"]), torch.tensor(p4["dx"])))
    p5 = {"cy": [0, 8, 3], "cx": [5, 0, 2]}
    case("cutout", (3, 2, 8, 6), p5, lambda x: cutout(x, torch.tensor(p5["cy"]), torch.tensor(p5["cx"])))
    p6 = {"bright": u3(), "sat": u3(), "con": u3(), "dy": [1, -1, 0], "dx": [0, 1, -1], "cy": [2, 7, 4], "cx": [0, 3, 8]}

    def full(x):
        x = contrast(saturation(brightness(x, p6["bright"]), p6["sat"]), p6["con"])
        x = translation(x, torch.tensor(p6["dy"]), torch.tensor(p6["dx"]))
        return cutout(x, torch.tensor(p6["cy"]), torch.tensor(p6["cx"]))

    case("diffaugment", (3, 3, 8, 8), p6, full)

    pa = {
        "flip": [1, 0, 1], "rot": [1, 3, 2], "dy": [1, -1, 0], "dx": [-1, 0, 1],
        "brightness": [0.1, -0.3, 0.0], "contrast": [1.3, 0.8, 1.0], "lumaflip": [1, 0, 0],
        "hue": [0.7, -2.0, 0.0], "saturation": [0.5, 1.7, 1.0],
    }

    def ada(x):
        x = geometric(x, pa["flip"], pa["rot"], torch.tensor(pa["dy"]), torch.tensor(pa["dx"]))
        C = color_matrices(torch.tensor(pa["brightness"], dtype=DT), torch.tensor(pa["contrast"], dtype=DT),
                           torch.tensor(pa["lumaflip"], dtype=DT), torch.tensor(pa["hue"], dtype=DT),
                           torch.tensor(pa["saturation"], dtype=DT))
        return color(x, C)

    case("ada_rgb", (3, 3, 8, 8), pa, ada)
    case("ada_gray", (3, 1, 8, 8), pa, ada)

    lines = ["{", '  "format": "gantry-golden-1",', '  "tensors": {']
    names = sorted(tensors)
    for i, name in enumerate(names):
        a = tensors[name].to(torch.float32).contiguous().numpy()
        strs = []
        for v in a.reshape(-1):
            s = repr(np.float32(v))
            if s.startswith("np.float32("):
                s = s[len("np.float32("):-1]
            if s.endswith(".0"):
                s = s[:-2]
            assert np.float32(float(s)) == np.float32(v), (name, s, v)
            strs.append(s)
        comma = "," if i + 1 < len(names) else ""
        lines.append(f'    {json.dumps(name)}: {{"shape": {json.dumps(list(a.shape))}, "data": [{", ".join(strs)}]}}{comma}')
    lines.append("  },")
    meta = {"generator": "scripts/golden/gen_data_augment.py", "torch_version": torch.__version__}
    lines.append('  "meta": ' + json.dumps(meta, sort_keys=True))
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {len(names)} tensors, {len(text)} bytes")


if __name__ == "__main__":
    main()
