package metrics

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/gantry-go/gantry/tensor"
)

// Features is a set of feature vectors from one extractor: the vectors
// themselves (N rows of Dim float32 values, which KID and precision/recall
// need) together with their running Stats (all FID needs). Only features are
// kept, never the images they were computed from.
//
// A Features is not safe for concurrent use.
type Features struct {
	stats *Stats
	rows  []float32
}

// NewFeatures returns an empty set of dim-dimensional features produced by the
// extractor called name.
//
// It panics if dim < 1.
func NewFeatures(name string, dim int) *Features {
	return &Features{stats: NewStats(name, dim)}
}

// FeaturesOf returns the features held in the [N, D] tensor t, copied.
//
// It panics if t is not two-dimensional.
func FeaturesOf(name string, t *tensor.Tensor) *Features {
	if t.Dims() != 2 {
		panic(fmt.Sprintf("metrics: FeaturesOf: tensor has shape %v; want [N, D]", t.Shape()))
	}
	f := NewFeatures(name, t.Dim(1))
	f.Add(t)
	return f
}

// Add appends a batch of feature vectors, a [B, Dim] tensor, copying it.
//
// It panics if batch is not two-dimensional with Dim columns.
func (f *Features) Add(batch *tensor.Tensor) {
	sh := batch.Shape()
	if len(sh) != 2 || sh[1] != f.stats.dim {
		panic(fmt.Sprintf("metrics: Features.Add: batch has shape %v; want [B, %d]", sh, f.stats.dim))
	}
	f.stats.Add(batch)
	f.rows = append(f.rows, batch.Data()...)
}

// Name returns the name of the extractor that produced the features.
func (f *Features) Name() string { return f.stats.name }

// Dim returns the feature dimension.
func (f *Features) Dim() int { return f.stats.dim }

// Len returns the number of feature vectors.
func (f *Features) Len() int { return f.stats.n }

// Stats returns the running statistics of the features. They belong to f
// and change as vectors are added.
func (f *Features) Stats() *Stats { return f.stats }

// Row returns feature vector i, a view of f's storage the caller must not
// modify.
//
// It panics if i is out of range.
func (f *Features) Row(i int) []float32 {
	if i < 0 || i >= f.stats.n {
		panic(fmt.Sprintf("metrics: Features.Row: index %d out of range [0, %d)", i, f.stats.n))
	}
	d := f.stats.dim
	return f.rows[i*d : (i+1)*d : (i+1)*d]
}

// Tensor returns the features as a new [N, D] tensor.
func (f *Features) Tensor() *tensor.Tensor {
	return tensor.FromSlice(slices.Clone(f.rows), f.stats.n, f.stats.dim)
}

// dense returns rows idx of f (all rows if idx is nil) as a float64 matrix.
func (f *Features) dense(idx []int) *mat.Dense {
	d := f.stats.dim
	n := len(idx)
	if idx == nil {
		n = f.stats.n
	}
	out := make([]float64, n*d)
	for i := range n {
		k := i
		if idx != nil {
			k = idx[i]
		}
		for j, v := range f.rows[k*d : (k+1)*d] {
			out[i*d+j] = float64(v)
		}
	}
	return mat.NewDense(n, d, out)
}

func checkPair(op string, a, b *Features) {
	if a.Name() != b.Name() || a.Dim() != b.Dim() {
		panic(fmt.Sprintf("metrics: %s: %q features of dimension %d against %q of dimension %d", op, a.Name(), a.Dim(), b.Name(), b.Dim()))
	}
}
