// Package shipped embeds small, real parts of MNIST and Fashion-MNIST, so that
// examples, tests and the main transfer experiment run without downloads.
//
// Each accessor decodes its gzipped IDX files (a few milliseconds) and returns
// a new *data.Memory of 28×28 grayscale images in [-1, 1] with class names;
// pass data.Resolution(32) for the 32×32 models, data.RGB() for three
// channels. The parts are class-balanced random subsets; README.md records
// their origin, licence and the command that rebuilt them. For the full
// training sets, see LoadFull and README.md.
package shipped

import (
	"bytes"
	"embed"
	"fmt"
	"path/filepath"

	"github.com/gantry-go/gantry/data"
)

//go:embed *.gz
var files embed.FS

// FashionClasses names Fashion-MNIST's labels 0-9.
var FashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// DigitClasses names MNIST's labels 0-9.
var DigitClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// Sizes of the embedded parts.
const (
	FashionMNISTLen     = 5000 // 500 per class, from the training set
	FashionMNISTEvalLen = 1000 // 100 per class, from the test set
	MNISTLen            = 2000 // 200 per class, from the training set
	MNISTEvalLen        = 1000 // 100 per class, from the even indices of the test set
)

// FashionMNIST returns the Fashion-MNIST target set: FashionMNISTLen training
// images, 500 of each class.
func FashionMNIST(opts ...data.Option) (*data.Memory, error) {
	return load("fashion-train", FashionClasses, opts)
}

// FashionMNISTEval returns the held-out Fashion-MNIST set for evaluation:
// FashionMNISTEvalLen images of the official test set, 100 of each class,
// disjoint from FashionMNIST.
func FashionMNISTEval(opts ...data.Option) (*data.Memory, error) {
	return load("fashion-eval", FashionClasses, opts)
}

// MNIST returns MNISTLen MNIST training images, 200 of each digit.
func MNIST(opts ...data.Option) (*data.Memory, error) {
	return load("mnist-train", DigitClasses, opts)
}

// MNISTEval returns the held-out MNIST set for evaluation: MNISTEvalLen
// images of the official test set, 100 of each digit, taken only from its
// even indices (the odd ones stay free for other held-out uses), so disjoint
// from MNIST and from any model trained on MNIST's training set.
func MNISTEval(opts ...data.Option) (*data.Memory, error) {
	return load("mnist-eval", DigitClasses, opts)
}

func load(name string, classes []string, opts []data.Option) (*data.Memory, error) {
	read := func(suffix string) (*data.IDX, error) {
		b, err := files.ReadFile(name + suffix)
		if err != nil {
			return nil, err
		}
		a, err := data.ReadIDX(bytes.NewReader(b))
		if err != nil {
			return nil, &data.FileError{Path: "shipped/" + name + suffix, Err: err}
		}
		return a, nil
	}
	imgs, err := read("-images-idx3-ubyte.gz")
	if err != nil {
		return nil, err
	}
	labs, err := read("-labels-idx1-ubyte.gz")
	if err != nil {
		return nil, err
	}
	m, err := data.FromIDX(imgs, labs, opts...)
	if err != nil {
		return nil, fmt.Errorf("shipped: %s: %w", name, err)
	}
	return named(m, classes, "shipped/"+name)
}

// named attaches class names to m, checking that every label has one.
func named(m *data.Memory, classes []string, path string) (*data.Memory, error) {
	for i, l := range m.Labels() {
		if l >= len(classes) {
			return nil, &data.FileError{Path: path, Err: fmt.Errorf("%w: label %d of image %d; want below %d", data.ErrFormat, l, i, len(classes))}
		}
	}
	return data.FromTensor(m.Images(), m.Labels(), classes), nil
}

// LoadFull reads a full set (60000 training or 10000 test images) from a
// folder holding the four original files
// {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, as fetched by
// scripts/data/fetch_full.sh; split is "train" or "t10k". classes names the
// labels (FashionClasses or DigitClasses).
func LoadFull(dir, split string, classes []string, opts ...data.Option) (*data.Memory, error) {
	images := filepath.Join(dir, split+"-images-idx3-ubyte.gz")
	m, err := data.LoadIDX(images, filepath.Join(dir, split+"-labels-idx1-ubyte.gz"), opts...)
	if err != nil {
		return nil, err
	}
	return named(m, classes, images)
}
