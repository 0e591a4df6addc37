#!/usr/bin/python3
"""Convert pytorch-fid's Inception weights to a safetensors file for gantry.

pytorch-fid (github.com/mseitzer/pytorch-fid) publishes the TensorFlow FID
Inception network ported to PyTorch as a release asset named

    pt_inception-2015-12-05-6726825d.pth

(its FID_WEIGHTS_URL, under the repository's "fid_weights" release). Download
it yourself; this script does not fetch anything. Then

    /usr/bin/python3 scripts/inception/convert_fid_weights.py \\
        pt_inception-2015-12-05-6726825d.pth inception-fid.safetensors

and load the result in Go with inception.LoadFile("inception-fid.safetensors").

The script needs python3-torch (to read the .pth pickle) and numpy; if
python3-torchvision is installed it also loads the weights strictly into the
FID network of gen_golden.py as a check. It keeps every tensor of the state
dict except the classifier (fc.*, unused for features), as float32 (the
num_batches_tracked counters as int64), and records in the metadata:

    gantry.inception.name    the extractor name gantry reports: FIDName,
                             "inception-v3-pytorch-fid", when the file's
                             SHA-256 starts with 6726825d, the digits in its
                             name (PyTorch's convention for published
                             weights), otherwise "inception-v3-unverified";
                             --name overrides both (the convention could not
                             be checked on the real file here: if a genuine
                             copy is reported unverified, pass --name)
    gantry.inception.source  the input file's base name
    gantry.inception.sha256  its SHA-256

The safetensors format is written by hand (stio.py), as Debian has no
python3-safetensors package.
"""

import argparse
import hashlib
import os
import sys

import torch

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_SHA256_PREFIX = "6726825d"  # from the file name, PyTorch's convention
FID_NAME = "inception-v3-pytorch-fid"
UNVERIFIED = "inception-v3-unverified"
# 94 BasicConv2d modules: conv.weight and four batch-norm tensors each, plus
# an optional num_batches_tracked counter.
N_CONVS = 94


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_architecture(sd):
    """Load sd strictly into the FID network when torchvision is there."""
    try:
        import gen_golden
    except ImportError as e:
        print(f"note: skipping the architecture check ({e})")
        return
    net = gen_golden.fid_inception(1, num_classes=1008)
    net.fc = torch.nn.Identity()
    own = net.state_dict()
    missing = sorted(k for k in own if k not in sd and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in sd if k not in own)
    shapes = sorted(k for k in sd if k in own and tuple(sd[k].shape) != tuple(own[k].shape))
    if missing or unexpected or shapes:
        sys.exit(f"not the FID InceptionV3: missing {missing[:5]}, unexpected {unexpected[:5]}, "
                 f"mis-shaped {shapes[:5]}")
    print("architecture check: every tensor matches the FID InceptionV3")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pth", help=f"pytorch-fid's weights ({FID_FILE})")
    ap.add_argument("out", help="the safetensors file to write")
    ap.add_argument("--name", help=f"extractor name to record (default: {FID_NAME} if the checksum "
                    f"matches, else {UNVERIFIED})")
    args = ap.parse_args()

    digest = sha256(args.pth)
    verified = digest.startswith(FID_SHA256_PREFIX)
    name = args.name or (FID_NAME if verified else UNVERIFIED)
    if not verified:
        print(f"warning: SHA-256 of {args.pth} starts with {digest[:8]}, not {FID_SHA256_PREFIX} "
              f"({FID_FILE}); recording name {name!r}")

    sd = torch.load(args.pth, map_location="cpu")
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        sys.exit(f"{args.pth}: expected a state dict, found {type(sd).__name__}")
    out = {}
    for k, v in sd.items():
        if k.startswith("fc.") or k.startswith("AuxLogits."):
            continue
        if not torch.is_tensor(v):
            sys.exit(f"{args.pth}: entry {k} is not a tensor")
        out[k] = v.to(torch.int64) if k.endswith("num_batches_tracked") else v.to(torch.float32)
    convs = sum(1 for k in out if k.endswith(".conv.weight"))
    if convs != N_CONVS:
        sys.exit(f"{args.pth}: {convs} convolutions; the FID InceptionV3 has {N_CONVS}")
    check_architecture(out)

    size = stio.save_safetensors(args.out, out, {
        "gantry.inception.name": name,
        "gantry.inception.source": os.path.basename(args.pth),
        "gantry.inception.sha256": digest,
    })
    print(f"wrote {args.out}: {len(out)} tensors, {size} bytes, name {name!r}")


if __name__ == "__main__":
    main()
