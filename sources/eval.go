package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/tensor"
)

// The protocol every shipped source is measured with: EvalSamples samples of
// its sampler (the EMA generator), drawn with EvalSeed, against the 1,000
// held-out test images of its dataset (shipped.MNISTEval or
// shipped.FashionMNISTEval at 32×32), on gantry-gray features.
const (
	EvalSamples = 1000
	EvalSeed    = 1
)

// heldOutSets is, per shipped source, its dataset's held-out test images and
// the first of gantry-gray's 20 classes (digits, then Fashion-MNIST's) that is
// one of the dataset's.
var heldOutSets = map[string]struct {
	images     func(...data.Option) (*data.Memory, error)
	firstClass int
}{
	NameMNIST:            {shipped.MNISTEval, 0},
	NameMNISTConditional: {shipped.MNISTEval, 0},
	NameFashion:          {shipped.FashionMNISTEval, 10},
}

// HeldOut returns the held-out test images a source is measured against.
func HeldOut(name string) (*data.Memory, error) {
	h, ok := heldOutSets[name]
	if !ok {
		return nil, fmt.Errorf("sources: no shipped source %q", name)
	}
	return h.images(data.Resolution(32))
}

// Evaluate measures m as the named source was measured when it shipped (see
// EvalSamples): FID, KID, precision and recall against HeldOut(name).
func Evaluate(m *gan.Model, name string) (metrics.Report, error) {
	real, err := HeldOut(name)
	if err != nil {
		return metrics.Report{}, err
	}
	r := rand.New(rand.NewPCG(EvalSeed, 0))
	return metrics.Evaluate(metrics.Gray(), real, m.Sampler().Sample, EvalSamples, r, metrics.Options{}), nil
}

// LabelAccuracy measures how well a conditional model draws the class it is
// asked for: the share of EvalSamples samples (equally many of each class,
// seed EvalSeed) that gantry-gray classifies as their label, against the
// held-out images' share for scale. The classifier picks among all 20 of its
// classes (digits, then Fashion-MNIST's), so a sample that looks like
// clothing, or nothing, counts as wrong.
//
// It returns an error for an unconditional model, or for a name whose data
// are not 10 classes of MNIST or Fashion-MNIST.
func LabelAccuracy(m *gan.Model, name string) (samples, heldOut float64, err error) {
	h, ok := heldOutSets[name]
	if !ok {
		return 0, 0, fmt.Errorf("sources: no shipped source %q", name)
	}
	if m.Config.Classes != 10 {
		return 0, 0, fmt.Errorf("sources: LabelAccuracy of %s: the model has %d classes; want a conditional model of 10", name, m.Config.Classes)
	}
	real, err := h.images(data.Resolution(32))
	if err != nil {
		return 0, 0, err
	}
	gray := metrics.Gray()
	labels := make([]int, EvalSamples)
	for i := range labels {
		labels[i] = i * 10 / EvalSamples
	}
	r := rand.New(rand.NewPCG(EvalSeed, 2))
	fake := m.Sampler().SampleLabels(EvalSamples, labels, r)
	return agreement(gray.Classify(fake), labels, h.firstClass), agreement(gray.Classify(real.Images()), real.Labels(), h.firstClass), nil
}

// agreement is the share of rows of logits whose largest entry is at
// offset+labels[i].
func agreement(logits *tensor.Tensor, labels []int, offset int) float64 {
	hit := 0
	for i, p := range tensor.ArgMax(logits, 1) {
		if p == offset+labels[i] {
			hit++
		}
	}
	return float64(hit) / float64(len(labels))
}

// Record is what was measured when a source shipped, kept beside its
// weights as models/NAME.json.
type Record struct {
	Name string `json:"name"`
	// Iteration is the training iteration of the shipped weights.
	Iteration int `json:"iteration"`
	// FID and KID are Evaluate's values for the shipped (float16) weights;
	// FIDFloat32 is FID for the float32 weights before rounding.
	FID        float64 `json:"fid"`
	KID        float64 `json:"kid"`
	FIDFloat32 float64 `json:"fid_float32"`
	// RealVsReal is FID between 1,000 training images and the held-out
	// images: the floor a perfect generator would reach, for scale.
	RealVsReal float64 `json:"fid_real_vs_real"`
	// LabelAccuracy and HeldOutAccuracy are LabelAccuracy's values, for a
	// conditional source only.
	LabelAccuracy   float64 `json:"label_accuracy,omitempty"`
	HeldOutAccuracy float64 `json:"held_out_accuracy,omitempty"`
	// Protocol is the FID result's description (extractor, sample counts).
	Protocol string `json:"protocol"`
	// SecPerIter and CPU are the training's median time per iteration and
	// the machine it ran on.
	SecPerIter float64 `json:"sec_per_iter"`
	CPU        string  `json:"cpu"`
	// Command is how the weights were trained.
	Command string `json:"command"`
	// Check is the checksum (gan.Checksum) of the model after the first
	// Check.Iteration iterations of that command, from the run's log:
	// `trainsource -source NAME -check` retrains them on a fresh machine
	// and compares, bit for bit.
	Check Check `json:"check"`
}

// Check is a model checksum at an iteration of a source's training, with
// what the arithmetic depended on: the kernels' instruction set (see
// GANTRY_CPU_CAPABILITY in docs/PERFORMANCE.md) and the number of threads.
// Retraining with the same two reproduces the checksum bit for bit.
type Check struct {
	Iteration int    `json:"iteration"`
	SHA256    string `json:"sha256"`
	Kernels   string `json:"kernels"`
	Threads   int    `json:"threads"`
}

// Recorded returns the record of a shipped source, or an error wrapping
// ErrNotShipped.
func Recorded(name string) (*Record, error) {
	b, err := files.ReadFile("models/" + name + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sources: %s: %w", name, ErrNotShipped)
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("sources: %s.json: %w", name, err)
	}
	return &rec, nil
}
