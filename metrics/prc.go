package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gantry-go/gantry/tensor"
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
// of rows, so memory beyond the features is O(N) per block row. For large
// problems (more than 1e9 multiply-adds) the dot products come from gantry's
// float32 matrix product, about a hundred times faster than gonum's float64
// one; a point within float32 round-off of a ball's boundary may then fall
// on the other side.
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
	work := float64(real.Len()+gen.Len()) * float64(real.Len()+gen.Len()) * float64(real.Dim())
	r, g := newPointSet(real, work > prFloat32Work), newPointSet(gen, work > prFloat32Work)
	rr, gr := r.radii(k), g.radii(k)
	p := Result{Metric: "precision", Extractor: real.Name(), N1: real.Len(), N2: gen.Len(), K: k}
	rc := p
	rc.Metric = "recall"
	p.Value = g.fractionInside(r, rr)
	rc.Value = r.fractionInside(g, gr)
	return p, rc
}

// prFloat32Work is the number of multiply-adds of the distance computation
// above which PrecisionRecall takes dot products from gantry's float32
// matrix product instead of gonum's float64 one.
var prFloat32Work = 1e9

// pointSet is a feature set with its squared row norms (float64), as a
// float64 matrix or, for large problems, float32 rows.
type pointSet struct {
	x    *mat.Dense     // nil when f32 is used
	f32  *tensor.Tensor // [N, D]
	norm []float64
}

func newPointSet(f *Features, float32Rows bool) pointSet {
	n, d := f.Len(), f.Dim()
	norm := make([]float64, n)
	for i := range n {
		var s float64
		for _, v := range f.Row(i) {
			s += float64(v) * float64(v)
		}
		norm[i] = s
	}
	if float32Rows {
		return pointSet{f32: tensor.FromSlice(f.rows[:n*d], n, d), norm: norm}
	}
	return pointSet{x: f.dense(nil), norm: norm}
}

const distBlock = 256

// sqDists calls fn for each block of rows [i0, i1) of p with their squared
// distances to every row of q (row i-i0 of d, stride ld).
func (p pointSet) sqDists(q pointSet, fn func(i0, i1 int, d []float64, ld int)) {
	m := len(p.norm)
	n := len(q.norm)
	var g mat.Dense
	var buf []float64
	for i0 := 0; i0 < m; i0 += distBlock {
		i1 := min(i0+distBlock, m)
		var data []float64
		ld := n
		if p.x != nil {
			g.Reset()
			_, c := p.x.Dims()
			g.Mul(p.x.Slice(i0, i1, 0, c), q.x.T())
			raw := g.RawMatrix()
			data, ld = raw.Data, raw.Stride
		} else {
			dots := tensor.MatMulT(tensor.Slice(p.f32, 0, i0, i1), q.f32, false, true).Data()
			if cap(buf) < len(dots) {
				buf = make([]float64, len(dots))
			}
			data = buf[:len(dots)]
			for i, v := range dots {
				data[i] = float64(v)
			}
		}
		for i := range i1 - i0 {
			row := data[i*ld : i*ld+n]
			for j := range row {
				row[j] = max(p.norm[i0+i]+q.norm[j]-2*row[j], 0)
			}
		}
		fn(i0, i1, data, ld)
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
