package metrics

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/gantry-go/gantry/tensor"
)

// Stats is the running mean and covariance of a stream of feature vectors, in
// float64: what FID needs of a feature set. Batches are folded in as they come
// (Chan, Golub and LeVeque's pairwise update: each batch is centred on its own
// mean before it is added), so the vectors themselves need not be kept.
//
// A Stats carries the name of the extractor that produced its vectors; FID
// refuses to compare statistics of different extractors.
//
// The zero value is not usable; make one with NewStats. A Stats is not safe
// for concurrent use; accumulate in several and Merge them instead.
type Stats struct {
	name string
	dim  int
	n    int
	mean []float64
	m2   *mat.SymDense // sum over vectors of (x-mean)(x-mean)ᵀ
}

// NewStats returns empty statistics for dim-dimensional features produced by
// the extractor called name.
//
// It panics if dim < 1.
func NewStats(name string, dim int) *Stats {
	if dim < 1 {
		panic(fmt.Sprintf("metrics: NewStats: dimension %d; want at least 1", dim))
	}
	return &Stats{name: name, dim: dim, mean: make([]float64, dim), m2: mat.NewSymDense(dim, nil)}
}

// NewStatsFrom returns statistics with the given mean and covariance as if
// they had been accumulated from n vectors: precomputed reference statistics,
// or a Gaussian known in closed form. mean and cov are copied.
//
// It panics if len(mean) differs from cov's dimension or n < 2.
func NewStatsFrom(name string, mean []float64, cov mat.Symmetric, n int) *Stats {
	d := cov.SymmetricDim()
	if len(mean) != d {
		panic(fmt.Sprintf("metrics: NewStatsFrom: mean has %d elements, covariance is %dx%d", len(mean), d, d))
	}
	if n < 2 {
		panic(fmt.Sprintf("metrics: NewStatsFrom: n = %d; want at least 2", n))
	}
	s := NewStats(name, d)
	s.n = n
	copy(s.mean, mean)
	s.m2.ScaleSym(float64(n-1), cov)
	return s
}

// Name returns the name of the extractor whose features these are.
func (s *Stats) Name() string { return s.name }

// Dim returns the feature dimension.
func (s *Stats) Dim() int { return s.dim }

// Len returns the number of vectors accumulated.
func (s *Stats) Len() int { return s.n }

// Add folds a batch of feature vectors, a [B, Dim] tensor, into s.
//
// It panics if batch is not two-dimensional with Dim columns.
func (s *Stats) Add(batch *tensor.Tensor) {
	sh := batch.Shape()
	if len(sh) != 2 || sh[1] != s.dim {
		panic(fmt.Sprintf("metrics: Stats.Add: batch has shape %v; want [B, %d]", sh, s.dim))
	}
	src := batch.Data()
	rows := make([]float64, len(src))
	for i, v := range src {
		rows[i] = float64(v)
	}
	s.add(rows, sh[0])
}

// AddFloat64 folds len(rows)/Dim feature vectors, stored one after another in
// rows, into s.
//
// It panics if len(rows) is not a multiple of Dim.
func (s *Stats) AddFloat64(rows []float64) {
	if len(rows)%s.dim != 0 {
		panic(fmt.Sprintf("metrics: Stats.AddFloat64: %d values are not a whole number of %d-vectors", len(rows), s.dim))
	}
	s.add(slices.Clone(rows), len(rows)/s.dim)
}

// add folds b vectors held in rows (which it overwrites) into s.
func (s *Stats) add(rows []float64, b int) {
	if b == 0 {
		return
	}
	d := s.dim
	bm := make([]float64, d)
	for i := range b {
		for j, v := range rows[i*d : (i+1)*d] {
			bm[j] += v
		}
	}
	for j := range bm {
		bm[j] /= float64(b)
	}
	for i := range b {
		r := rows[i*d : (i+1)*d]
		for j := range r {
			r[j] -= bm[j]
		}
	}
	x := mat.NewDense(b, d, rows)
	batch := NewStats(s.name, d)
	batch.n = b
	batch.mean = bm
	batch.m2.SymRankK(batch.m2, 1, x.T())
	s.merge(batch)
}

// Merge folds the statistics o into s, as if o's vectors had been added to s.
//
// It panics if o has another dimension or extractor name.
func (s *Stats) Merge(o *Stats) {
	if o.dim != s.dim || o.name != s.name {
		panic(fmt.Sprintf("metrics: Stats.Merge: %q features of dimension %d into %q of dimension %d", o.name, o.dim, s.name, s.dim))
	}
	s.merge(o)
}

func (s *Stats) merge(o *Stats) {
	if o.n == 0 {
		return
	}
	if s.n == 0 {
		s.n = o.n
		copy(s.mean, o.mean)
		s.m2.CopySym(o.m2)
		return
	}
	n := float64(s.n + o.n)
	delta := make([]float64, s.dim)
	for j := range delta {
		delta[j] = o.mean[j] - s.mean[j]
	}
	f := float64(o.n) / n
	for j := range s.mean {
		s.mean[j] += delta[j] * f
	}
	s.m2.AddSym(s.m2, o.m2)
	s.m2.SymRankOne(s.m2, float64(s.n)*float64(o.n)/n, mat.NewVecDense(s.dim, delta))
	s.n += o.n
}

// Mean returns a copy of the mean vector.
func (s *Stats) Mean() []float64 { return slices.Clone(s.mean) }

// Cov returns the sample covariance (normalised by N-1, as numpy.cov and
// pytorch-fid do), a new matrix.
//
// It panics if fewer than two vectors have been added.
func (s *Stats) Cov() *mat.SymDense {
	if s.n < 2 {
		panic(fmt.Sprintf("metrics: Stats.Cov: %d vectors; want at least 2", s.n))
	}
	c := mat.NewSymDense(s.dim, nil)
	c.ScaleSym(1/float64(s.n-1), s.m2)
	return c
}

// finite reports whether every element of v is finite.
func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
