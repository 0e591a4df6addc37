package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// DefaultK is the neighbourhood size of precision and recall used by
// Kynkäänniemi et al. (2019).
const DefaultK = 3

// PrecisionRecall returns the improved precision and recall of Kynkäänniemi et
// al. (2019) between real and generated features. Each set is taken to cover
// the union of balls around its vectors, each ball's radius the distance to
// the vector's k-th nearest neighbour within its own set. Precision is the
// fraction of generated vectors inside the real set's manifold (fidelity);
// recall is the fraction of real vectors inside the generated set's manifold
// (diversity). A point on a ball's boundary is inside.
//
// Distances are Euclidean, computed in float64 from the Gram matrix in blocks
// of rows, so memory beyond the features is O(N) per block row.
//
// It panics if real and gen come from different extractors or dimensions, if
// k < 1, or if either set has k vectors or fewer.
func PrecisionRecall(real, gen *Features, k int) (precision, recall Result) {
	checkPair("PrecisionRecall", real, gen)
	if k < 1 {
		panic(fmt.Sprintf("metrics: PrecisionRecall: k = %d; want at least 1", k))
	}
	if real.Len() <= k || gen.Len() <= k {
		panic(fmt.Sprintf("metrics: PrecisionRecall: %d real and %d generated vectors; want more than k = %d in each", real.Len(), gen.Len(), k))
	}
	r, g := newPointSet(real), newPointSet(gen)
	rr, gr := r.radii(k), g.radii(k)
	p := Result{Metric: "precision", Extractor: real.Name(), N1: real.Len(), N2: gen.Len(), K: k}
	rc := p
	rc.Metric = "recall"
	p.Value = g.fractionInside(r, rr)
	rc.Value = r.fractionInside(g, gr)
	return p, rc
}

// pointSet is a feature set as a float64 matrix with its squared row norms.
type pointSet struct {
	x    *mat.Dense
	norm []float64
}

func newPointSet(f *Features) pointSet {
	x := f.dense(nil)
	n, _ := x.Dims()
	norm := make([]float64, n)
	for i := range n {
		r := x.RawRowView(i)
		var s float64
		for _, v := range r {
			s += v * v
		}
		norm[i] = s
	}
	return pointSet{x: x, norm: norm}
}

const distBlock = 256

// sqDists calls fn for each block of rows [i0, i1) of p with their squared
// distances to every row of q (row i-i0 of d, stride ld).
func (p pointSet) sqDists(q pointSet, fn func(i0, i1 int, d []float64, ld int)) {
	m, c := p.x.Dims()
	n := len(q.norm)
	var g mat.Dense
	for i0 := 0; i0 < m; i0 += distBlock {
		i1 := min(i0+distBlock, m)
		g.Reset()
		g.Mul(p.x.Slice(i0, i1, 0, c), q.x.T())
		raw := g.RawMatrix()
		for i := range i1 - i0 {
			row := raw.Data[i*raw.Stride : i*raw.Stride+n]
			for j := range row {
				row[j] = max(p.norm[i0+i]+q.norm[j]-2*row[j], 0)
			}
		}
		fn(i0, i1, raw.Data, raw.Stride)
	}
}

// radii returns, for each vector of p, the squared distance to its k-th
// nearest other vector of p.
func (p pointSet) radii(k int) []float64 {
	n := len(p.norm)
	out := make([]float64, n)
	best := make([]float64, k)
	p.sqDists(p, func(i0, i1 int, d []float64, ld int) {
		for i := range i1 - i0 {
			for j := range best {
				best[j] = math.Inf(1)
			}
			for j, v := range d[i*ld : i*ld+n] {
				if j == i0+i || v >= best[k-1] {
					continue
				}
				// Insert v into the sorted k smallest.
				t := k - 1
				for t > 0 && best[t-1] > v {
					best[t] = best[t-1]
					t--
				}
				best[t] = v
			}
			out[i0+i] = best[k-1]
		}
	})
	return out
}

// fractionInside returns the fraction of p's vectors within the squared
// radius rq[j] of some vector j of q.
func (p pointSet) fractionInside(q pointSet, rq []float64) float64 {
	n := len(q.norm)
	inside := 0
	p.sqDists(q, func(i0, i1 int, d []float64, ld int) {
		for i := range i1 - i0 {
			for j, v := range d[i*ld : i*ld+n] {
				if v <= rq[j] {
					inside++
					break
				}
			}
		}
	})
	return float64(inside) / float64(len(p.norm))
}
