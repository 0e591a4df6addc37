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
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {len(text)} bytes")
    for key in sorted(meta):
        if key.startswith(("fid", "mmd", "kid_ab_m", "kid_ab_s", "prec", "rec")):
            print(f"  {key} = {meta[key]!r}")


if __name__ == "__main__":
    main()
