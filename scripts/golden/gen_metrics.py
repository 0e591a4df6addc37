#!/usr/bin/python3
"""Reference values for gantry's metrics tests (FID, KID, precision/recall).

Run from anywhere; paths are resolved relative to the repository:

    /usr/bin/python3 scripts/golden/gen_metrics.py

Needs Debian's python3-numpy and python3-scipy (under /usr/bin/python3). It
writes, overwriting, metrics/testdata/features.json in the "gantry-golden-1"
format that internal/golden reads:

  tensors
    a, b        [200, 64] feature sets from two different Gaussians
    c, d        [40, 64] and [50, 64]: fewer vectors than dimensions, so both
                covariances are singular
    kid_x, kid_y  [S, M] indices of the KID subsets drawn from a and from b
  meta (float64 numbers, exact JSON repr)
    fid_ab, fid_cd          FID as pytorch-fid computes it: numpy mean, np.cov
                            (rowvar=False, N-1), scipy.linalg.sqrtm of the
                            product of covariances, eps 1e-6 on both diagonals
                            only if that is not finite, real part, trace
    fid_cd_eigh             the same distance for c, d through a symmetric
                            eigendecomposition (cross-check of sqrtm on
                            singular input)
    mmd2_ab                 unbiased MMD^2 of all of a against all of b,
                            kernel (x.y/d + 1)^3
    kid_ab_subsets          unbiased MMD^2 of each subset (kid_x[i], kid_y[i])
    kid_ab_mean, kid_ab_std mean and std (ddof 0) of those
    precision_ab_k3, recall_ab_k3, precision_ab_k5, recall_ab_k5
                            improved precision/recall (Kynkaenniemi et al.),
                            a real and b generated, with exact distances

It also writes metrics/testdata/inception.json, a full-size check of the
pytorch-fid InceptionV3 of package metrics/inception with deterministic weights
(see inception_golden below; read by metrics/inception_fullsize_test.go).

Feature values are rounded to two decimals and stored as float32; every
reference is computed in float64 from exactly the stored float32 values. The
script asserts that no precision/recall comparison lies within a relative 1e-9
of its threshold, so a different but correct rounding order cannot flip it.
"""

import json
import math
import os

import numpy as np
import scipy
import scipy.linalg
from scipy.spatial.distance import cdist

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "metrics", "testdata", "features.json")
FORMAT = "gantry-golden-1"
EPS = 1e-6


def feats(rng, n, d, shift, scale):
    """n correlated Gaussian vectors, rounded to 0.01 and cast to float32."""
    mix = rng.normal(size=(d, d)) / math.sqrt(d)
    z = rng.normal(size=(n, d)) * scale
    x = z @ (np.eye(d) + 0.5 * mix) + shift
    return np.round(x, 2).astype(np.float32)


def fid_pytorch_fid(x, y):
    """FID the way pytorch-fid's calculate_frechet_distance does it."""
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * EPS
        covmean = scipy.linalg.sqrtm((s1 + off).dot(s2 + off))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_eigh(x, y):
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    lam, v = np.linalg.eigh(s1)
    r = np.sqrt(np.clip(lam, 0, None))
    m = (v.T @ s2 @ v) * r[:, None] * r[None, :]
    m = 0.5 * (m + m.T)
    mu = np.clip(np.linalg.eigvalsh(m), 0, None)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(mu).sum())


def kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    m, n = len(x), len(y)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    sxx = kxx.sum() - np.trace(kxx)
    syy = kyy.sum() - np.trace(kyy)
    return float(sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2 * kxy.sum() / (m * n))


def radii(x, k):
    dist = cdist(x, x)
    np.fill_diagonal(dist, np.inf)
    return np.sort(dist, axis=1)[:, k - 1]


def inside(pts, ref, rad):
    dist = cdist(pts, ref)
    rel = np.abs(dist - rad[None, :]) / np.maximum(rad[None, :], 1e-300)
    if rel.min() < 1e-9:
        raise AssertionError("a precision/recall comparison is a near tie; change the seed")
    return float(np.mean((dist <= rad[None, :]).any(axis=1)))


def precision_recall(real, gen, k):
    return inside(gen, real, radii(real, k)), inside(real, gen, radii(gen, k))


def fmt32(v):
    s = repr(float(np.float32(v)))
    if np.float32(float(s)) != np.float32(v):
        raise AssertionError(f"no exact round trip for {v!r}")
    # shortest float32 repr: try fewer digits
    for p in range(1, 10):
        t = f"{float(np.float32(v)):.{p}g}"
        if np.float32(float(t)) == np.float32(v):
            s = t
            break
    if s.endswith(".0"):
        s = s[:-2]
    return s


# ---------------------------------------------------------------------------
# InceptionV3 as pytorch-fid uses it, checked with deterministic weights.
#
# The network is torchvision 0.14's Inception3 with the FID-specific blocks of
# pytorch-fid: the 3x3 average pools of the A, C and E blocks exclude the zero
# padding from their counts, and the last E block pools by maximum. Its weights
# are too large to commit (95 MB), so every tensor is filled by a formula that
# gantry's test evaluates identically: element i of the tensor called name is
# lo + (hi - lo) * u, with u = fmix32(i * 0x9E3779B1 + fnv1a32(name)) / 2^32
# (top 24 bits), and (lo, hi) by the kind of tensor (see det_range).


def fnv1a32(s):
    h = 0x811C9DC5
    for c in s.encode():
        h ^= c
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def det_uniform(name, n):
    i = np.arange(n, dtype=np.uint64)
    x = (i * np.uint64(0x9E3779B1) + np.uint64(fnv1a32(name))) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return (x >> np.uint64(8)).astype(np.float64) / float(1 << 24)


def det_range(name, shape):
    if name.endswith("conv.weight"):
        fan_in = int(np.prod(shape[1:]))
        b = math.sqrt(6.0 / fan_in)
        return -b, b
    if name.endswith("bn.weight"):
        return 0.8, 1.2
    if name.endswith("bn.bias"):
        return -0.1, 0.1
    if name.endswith("bn.running_mean"):
        return -0.05, 0.05
    if name.endswith("bn.running_var"):
        return 0.5, 1.5
    raise KeyError(name)


def det_tensor(name, shape):
    lo, hi = det_range(name, shape)
    u = det_uniform(name, int(np.prod(shape)))
    return (lo + (hi - lo) * u).astype(np.float32).reshape(shape)


def fid_inception(torch):
    import torch.nn.functional as F
    from torchvision.models import inception as tvi

    class A(tvi.InceptionA):
        def _forward(self, x):
            b1 = self.branch1x1(x)
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
            return [b1, b5, b3, bp]

    class C(tvi.InceptionC):
        def _forward(self, x):
            b1 = self.branch1x1(x)
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            bd = self.branch7x7dbl_1(x)
            for m in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
                bd = m(bd)
            bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
            return [b1, b7, bd, bp]

    class E(tvi.InceptionE):
        use_max = False

        def _forward(self, x):
            b1 = self.branch1x1(x)
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
            if self.use_max:
                p = F.max_pool2d(x, 3, stride=1, padding=1)
            else:
                p = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            return [b1, b3, bd, self.branch_pool(p)]

    class E2(E):
        use_max = True

    net = tvi.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = A(192, 32), A(256, 64), A(288, 64)
    net.Mixed_6b, net.Mixed_6c = C(768, 128), C(768, 160)
    net.Mixed_6d, net.Mixed_6e = C(768, 160), C(768, 192)
    net.Mixed_7b, net.Mixed_7c = E(1280), E2(2048)
    return net.eval()


def inception_pool3(net, x, torch):
    """pytorch-fid's InceptionV3 forward to the 2048-d pool features, for
    images x already in [-1, 1] (so without its 2x-1 input scaling)."""
    import torch.nn.functional as F
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    means = {}
    x = net.Conv2d_1a_3x3(x)
    x = net.Conv2d_2a_3x3(x)
    x = net.Conv2d_2b_3x3(x)
    x = F.max_pool2d(x, 3, stride=2)
    means["block0"] = x.mean(dim=(2, 3))
    x = net.Conv2d_3b_1x1(x)
    x = net.Conv2d_4a_3x3(x)
    x = F.max_pool2d(x, 3, stride=2)
    means["block1"] = x.mean(dim=(2, 3))
    for m in (net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e):
        x = m(x)
    means["block2"] = x.mean(dim=(2, 3))
    for m in (net.Mixed_7a, net.Mixed_7b, net.Mixed_7c):
        x = m(x)
    return x.mean(dim=(2, 3)), means


def inception_golden(rng):
    import torch
    torch.set_num_threads(1)
    net = fid_inception(torch)
    sd = {}
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked") or name.startswith("fc."):
            continue
        sd[name] = torch.from_numpy(det_tensor(name, tuple(t.shape)))
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") or k.startswith("fc.") for k in missing), (missing, unexpected)
    net = net.double()
    x = np.round(rng.uniform(-1, 1, size=(2, 3, 20, 26)), 2).astype(np.float32)
    with torch.no_grad():
        feats, means = inception_pool3(net, torch.from_numpy(x).double(), torch)
    tensors = {"images": x, "pool3": feats.numpy().astype(np.float32)}
    for k, v in means.items():
        tensors["mean_" + k] = v.numpy().astype(np.float32)
    meta = {
        "generator": "scripts/golden/gen_metrics.py",
        "torch_version": torch.__version__,
        "network": "torchvision Inception3 with pytorch-fid's FIDInceptionA/C/E_1/E_2 blocks, eval mode, float64",
        "weights": "deterministic: see det_uniform and det_range in the script",
        "state_keys": sorted(sd),
    }
    return tensors, meta


def write_golden(path, tensors, meta):
    lines = ["{", f'  "format": "{FORMAT}",', '  "tensors": {']
    names = sorted(tensors)
    for i, name in enumerate(names):
        t = tensors[name]
        strs = [fmt32(v) for v in t.reshape(-1)]
        comma = "," if i + 1 < len(names) else ""
        lines.append(f'    "{name}": {{"shape": {json.dumps(list(t.shape))}, "data": [{", ".join(strs)}]}}{comma}')
    lines.append("  },")
    lines.append('  "meta": ' + json.dumps(meta, indent=2, sort_keys=True).replace("\n", "\n  "))
    lines.append("}")
    text = "\n".join(lines) + "\n"
    back = json.loads(text)
    for name in names:
        got = np.array(back["tensors"][name]["data"], dtype=np.float32)
        if not np.array_equal(got, tensors[name].reshape(-1)):
            raise AssertionError(f"{name}: float32 round trip failed")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(text)} bytes")


def main():
    rng = np.random.default_rng(20181008)
    d = 64
    a = feats(rng, 200, d, 0.0, 1.0)
    b = feats(rng, 200, d, 0.15, 1.1)
    c = feats(rng, 40, d, 0.0, 1.0)
    dd = feats(rng, 50, d, 0.1, 0.9)
    A, B, C, D = (t.astype(np.float64) for t in (a, b, c, dd))

    n_sub, size = 8, 60
    kx = np.stack([rng.choice(len(A), size, replace=False) for _ in range(n_sub)])
    ky = np.stack([rng.choice(len(B), size, replace=False) for _ in range(n_sub)])
    subs = [mmd2_unbiased(A[kx[i]], B[ky[i]]) for i in range(n_sub)]

    meta = {
        "generator": "scripts/golden/gen_metrics.py",
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "fid_ab": fid_pytorch_fid(A, B),
        "fid_ab_eigh": fid_eigh(A, B),
        "fid_cd": fid_pytorch_fid(C, D),
        "fid_cd_eigh": fid_eigh(C, D),
        "mmd2_ab": mmd2_unbiased(A, B),
        "kid_ab_subsets": subs,
        "kid_ab_mean": float(np.mean(subs)),
        "kid_ab_std": float(np.std(subs)),
    }
    for k in (3, 5):
        p, r = precision_recall(A, B, k)
        meta[f"precision_ab_k{k}"] = p
        meta[f"recall_ab_k{k}"] = r

    tensors = {"a": a, "b": b, "c": c, "d": dd,
               "kid_x": kx.astype(np.float32), "kid_y": ky.astype(np.float32)}
    write_golden(OUT, tensors, meta)
    for key in sorted(meta):
        if key.startswith(("fid", "mmd", "kid_ab_m", "kid_ab_s", "prec", "rec")):
            print(f"  {key} = {meta[key]!r}")
    tensors, meta = inception_golden(rng)
    write_golden(os.path.join(ROOT, "metrics", "testdata", "inception.json"), tensors, meta)


if __name__ == "__main__":
    main()
