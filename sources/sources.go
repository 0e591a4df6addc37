// Package sources ships pretrained source GANs inside the Go module, so that
// `go get` gives a transfer its starting point with no download: GANs of the
// paper's ResNet family trained by gantry's own trainer on the full MNIST and
// Fashion-MNIST training sets (internal/cmd/trainsource is the committed
// recipe of each). The models' README.md records, for each, the data, the
// command and seed, the iterations, the time per iteration and CPU, the
// final FID on held-out test images, and the data's licence.
//
//	src, err := sources.MNIST()                 // a *gan.Model
//	src, err := sources.Open("shipped:fashion") // by name, as the command line takes it
//
// # Quality
//
// Each source is measured by Evaluate: 1,000 samples of its EMA generator
// against 1,000 held-out test images its training never saw, on gantry-gray
// features (not Inception: these numbers compare only with each other).
// For scale, 1,000 real training images score 5.5 against the MNIST
// held-out part and 4.8 against the Fashion-MNIST one. FID over training,
// measured by the trainer every 250 iterations:
//
//	iteration          0     250     500     750    1000
//	mnist          509.4   264.4    94.2    42.5    27.0
//	fashion        366.3   205.5    90.3    54.0    38.1
//	mnist-cond      27.8    25.4    16.3    10.3     8.9
//
// mnist-cond starts from the mnist source, hence its low first value. It
// draws the digit it is asked for in 81.3% of samples by LabelAccuracy
// (gantry-gray reads 98.9% of the held-out digits right).
//
// Shipped in float16 (half the size of float32), they score 28.3 (mnist),
// 37.7 (fashion) and 9.27 (mnist-cond) by Evaluate, as their float32 weights do to within
// 0.01. The models' README.md has the same for
// every source, with its sample grid. TestShippedFID holds each to its
// recorded value plus 2%. A conditional source is also measured by
// LabelAccuracy: how often gantry-gray sees in a sample the class it was
// drawn for, held to its record minus 2 points.
package sources

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gantry-go/gantry/gan"
)

//go:embed models
var files embed.FS

// The shipped sources, by name.
const (
	// NameMNIST is an unconditional 32×32 gray WGAN-GP trained on MNIST's
	// 60,000 training digits.
	NameMNIST = "mnist"
	// NameFashion is the same architecture trained on Fashion-MNIST's
	// 60,000 training images.
	NameFashion = "fashion"
	// NameMNISTConditional is an AC-GAN with conditional batch norm over
	// MNIST's 10 digits, for conditional transfer. It was trained from the
	// unconditional MNIST source.
	NameMNISTConditional = "mnist-cond"
)

// Prefix marks a shipped source in a command line: "shipped:mnist".
const Prefix = "shipped:"

// Names returns the names of the sources, in the order above.
func Names() []string { return []string{NameMNIST, NameFashion, NameMNISTConditional} }

// ErrNotShipped is wrapped by the error for a known source whose weights are
// not in this version of the module yet.
var ErrNotShipped = errors.New("not shipped in this version of gantry")

// Open returns a fresh copy of the shipped source with the given name (with
// or without Prefix). Each call decodes the embedded file anew, so callers
// may train the model they get.
func Open(name string) (*gan.Model, error) {
	name = strings.TrimPrefix(name, Prefix)
	known := false
	for _, n := range Names() {
		known = known || n == name
	}
	if !known {
		return nil, fmt.Errorf("sources: no shipped source %q; the shipped sources are %s", name, strings.Join(Names(), ", "))
	}
	b, err := files.ReadFile("models/" + name + ".safetensors")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sources: %s: %w (train it with internal/cmd/trainsource)", name, ErrNotShipped)
	}
	if err != nil {
		return nil, fmt.Errorf("sources: %s: %w", name, err)
	}
	m, err := gan.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("sources: %s: %w", name, err)
	}
	return m, nil
}

// MNIST returns the shipped MNIST source (NameMNIST).
func MNIST() (*gan.Model, error) { return Open(NameMNIST) }

// Fashion returns the shipped Fashion-MNIST source (NameFashion).
func Fashion() (*gan.Model, error) { return Open(NameFashion) }

// MNISTConditional returns the shipped conditional MNIST source
// (NameMNISTConditional).
func MNISTConditional() (*gan.Model, error) { return Open(NameMNISTConditional) }
