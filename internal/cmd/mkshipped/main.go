// Command mkshipped writes the small parts of MNIST and Fashion-MNIST that
// package data/shipped embeds, as gzipped IDX files. It is run by
// scripts/data/build.sh, which fetches the full sets first:
//
//	go run ./internal/cmd/mkshipped -mnist DIR -fashion DIR -out data/shipped
//
// Each part is a class-balanced random subset drawn with a fixed seed, so the
// output is the same byte for byte on every run.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/tensor"
)

// part is one embedded subset.
type part struct {
	name   string // output prefix
	src    string // "mnist" or "fashion"
	split  string // "train" or "t10k"
	n      int
	seed   uint64
	even   bool // draw only from the even indices of the split
	remark string
}

var parts = []part{
	{"fashion-train", "fashion", "train", 5000, 1, false, "Fashion-MNIST target: 500 per class from the 60000 training images"},
	{"fashion-eval", "fashion", "t10k", 1000, 2, false, "Fashion-MNIST held-out evaluation: 100 per class from the 10000 test images"},
	{"mnist-train", "mnist", "train", 2000, 3, false, "MNIST: 200 per class from the 60000 training images"},
	{"mnist-eval", "mnist", "t10k", 1000, 4, true, "MNIST held-out evaluation: 100 per class from the even indices of the 10000 test images"},
}

// labelsOnly is a dataset of labels alone, enough for BalancedSubset.
type labelsOnly []byte

func (l labelsOnly) Len() int                 { return len(l) }
func (l labelsOnly) Label(i int) int          { return int(l[i]) }
func (l labelsOnly) Image(int) *tensor.Tensor { panic("mkshipped: labelsOnly has no images") }

func main() {
	mnist := flag.String("mnist", "", "folder with MNIST's {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz")
	fashion := flag.String("fashion", "", "folder with Fashion-MNIST's files of the same names")
	out := flag.String("out", "data/shipped", "output folder")
	flag.Parse()
	if *mnist == "" || *fashion == "" {
		flag.Usage()
		os.Exit(2)
	}
	dirs := map[string]string{"mnist": *mnist, "fashion": *fashion}
	for _, p := range parts {
		if err := build(p, dirs[p.src], *out); err != nil {
			fmt.Fprintln(os.Stderr, "mkshipped:", err)
			os.Exit(1)
		}
	}
}

func readIDX(path string) (*data.IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := data.ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func build(p part, dir, out string) error {
	imgs, err := readIDX(filepath.Join(dir, p.split+"-images-idx3-ubyte.gz"))
	if err != nil {
		return err
	}
	labs, err := readIDX(filepath.Join(dir, p.split+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return err
	}
	if len(imgs.Dims) != 3 || len(labs.Dims) != 1 || imgs.Dims[0] != labs.Dims[0] {
		return fmt.Errorf("%s: images %v and labels %v do not match", dir, imgs.Dims, labs.Dims)
	}
	pool := labs.Data
	if p.even {
		pool = make([]byte, 0, (len(labs.Data)+1)/2)
		for i := 0; i < len(labs.Data); i += 2 {
			pool = append(pool, labs.Data[i])
		}
	}
	v, err := data.BalancedSubset(labelsOnly(pool), p.n, rand.New(rand.NewPCG(p.seed, 0)))
	if err != nil {
		return err
	}
	indices := v.Indices()
	if p.even {
		for k, i := range indices {
			indices[k] = 2 * i
		}
	}
	per := imgs.Dims[1] * imgs.Dims[2]
	subImgs := &data.IDX{Dims: []int{p.n, imgs.Dims[1], imgs.Dims[2]}, Data: make([]byte, 0, p.n*per)}
	subLabs := &data.IDX{Dims: []int{p.n}, Data: make([]byte, 0, p.n)}
	for _, i := range indices {
		subImgs.Data = append(subImgs.Data, imgs.Data[i*per:(i+1)*per]...)
		subLabs.Data = append(subLabs.Data, labs.Data[i])
	}
	for _, f := range []struct {
		suffix string
		a      *data.IDX
	}{{"-images-idx3-ubyte.gz", subImgs}, {"-labels-idx1-ubyte.gz", subLabs}} {
		if err := writeGz(filepath.Join(out, p.name+f.suffix), f.a); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d images (%s)\n", p.name, p.n, p.remark)
	return nil
}

// writeGz writes a gzipped IDX file with no name or time in its header, so
// the bytes depend only on the content.
func writeGz(path string, a *data.IDX) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := data.WriteIDX(zw, a); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
