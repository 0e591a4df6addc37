package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gantry-go/gantry/tensor"
)

// KIDOptions configures KID. The zero value gives the usual settings.
type KIDOptions struct {
	// Subsets is the number of random subsets averaged; 0 means 100.
	Subsets int
	// SubsetSize is the number of vectors drawn from each set for a subset;
	// 0 means 1000. It is capped at the smaller of the two set sizes.
	SubsetSize int
}

// kidGramLimit is the largest total number of vectors for which KID computes
// the kernel between all of them once (a float64 matrix of this size squared)
// instead of once per subset.
var kidGramLimit = 4096

// KID returns the Kernel Inception Distance of Bińkowski et al. (2018)
// between two feature sets: the unbiased estimate of the squared maximum mean
// discrepancy under the cubic polynomial kernel k(x, y) = (xᵀy/d + 1)³,
// averaged over o.Subsets random subsets of o.SubsetSize vectors from each
// set. Result.Value is the mean over subsets and Result.Std their standard
// deviation (normalised by the number of subsets). Unlike FID the estimate is
// unbiased, so it suits the small sample sizes of few-shot generation; it can
// be slightly negative.
//
// Each subset draws its indices without replacement from a, then from b,
// using r, so the same r state gives the same value. When the two sets hold
// at most 4096 vectors together, the kernel between all of them is computed
// once (O((Na+Nb)² D)); otherwise each subset computes its own. Kernels and
// sums are computed in float64; the dot products too, unless a Gram matrix
// needs more than 1e9 multiply-adds (large sets or Inception's 2048-d
// features), where they come from gantry's float32 matrix product: the
// kernel values then carry float32 round-off (about 1e-6 relative), as in
// the reference implementation, which works in float32.
//
// It panics if a and b come from different extractors or dimensions, if
// either has fewer than two vectors, if o holds negative values or r is nil.
func KID(a, b *Features, o KIDOptions, r *rand.Rand) Result {
	checkPair("KID", a, b)
	if a.Len() < 2 || b.Len() < 2 {
		panic(fmt.Sprintf("metrics: KID: %d and %d vectors; want at least 2 in each set", a.Len(), b.Len()))
	}
	if o.Subsets < 0 || o.SubsetSize < 0 {
		panic(fmt.Sprintf("metrics: KID: options %+v; want no negative values", o))
	}
	if r == nil {
		panic("metrics: KID: nil *rand.Rand")
	}
	if o.Subsets == 0 {
		o.Subsets = 100
	}
	if o.SubsetSize == 0 {
		o.SubsetSize = 1000
	}
	s := min(o.SubsetSize, a.Len(), b.Len())
	if s < 2 {
		panic(fmt.Sprintf("metrics: KID: subset size %d; want at least 2", s))
	}
	subsets := make([]kidSubset, o.Subsets)
	for i := range subsets {
		subsets[i] = kidSubset{x: sampleIndices(a.Len(), s, r), y: sampleIndices(b.Len(), s, r)}
	}
	vals := kidOnSubsets(a, b, subsets)
	var mean float64
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	return Result{
		Metric:     "KID",
		Extractor:  a.Name(),
		Value:      mean,
		Std:        math.Sqrt(ss / float64(len(vals))),
		N1:         a.Len(),
		N2:         b.Len(),
		Subsets:    o.Subsets,
		SubsetSize: s,
	}
}

// MMD2 returns the unbiased estimate of the squared maximum mean discrepancy
// between all of a and all of b under KID's cubic polynomial kernel:
//
//	Σ_{i≠j} k(aᵢ,aⱼ)/(m(m−1)) + Σ_{i≠j} k(bᵢ,bⱼ)/(n(n−1)) − 2 Σ k(aᵢ,bⱼ)/(mn)
//
// It needs no randomness; its cost is O((m+n)² D) time and, in blocks, O(m+n)
// memory beyond the features.
//
// It panics if a and b come from different extractors or dimensions, or
// either has fewer than two vectors.
func MMD2(a, b *Features) float64 {
	checkPair("MMD2", a, b)
	m, n := a.Len(), b.Len()
	if m < 2 || n < 2 {
		panic(fmt.Sprintf("metrics: MMD2: %d and %d vectors; want at least 2 in each set", m, n))
	}
	x, y := a.dense(nil), b.dense(nil)
	d := float64(a.Dim())
	sxx := kernelSum(x, x, d, true)
	syy := kernelSum(y, y, d, true)
	sxy := kernelSum(x, y, d, false)
	return sxx/float64(m*(m-1)) + syy/float64(n*(n-1)) - 2*sxy/float64(m*n)
}

// kernelSum returns Σ k(xᵢ, yⱼ) over all pairs, leaving out i == j when
// offDiag is set (x and y are then the same matrix), computed in blocks of
// rows of x.
func kernelSum(x, y *mat.Dense, d float64, offDiag bool) float64 {
	const block = 256
	m, _ := x.Dims()
	n, _ := y.Dims()
	var total float64
	var g mat.Dense
	for i0 := 0; i0 < m; i0 += block {
		i1 := min(i0+block, m)
		g.Reset()
		g.Mul(x.Slice(i0, i1, 0, x.RawMatrix().Cols), y.T())
		raw := g.RawMatrix()
		for i := range i1 - i0 {
			row := raw.Data[i*raw.Stride : i*raw.Stride+n]
			for j, v := range row {
				if offDiag && i0+i == j {
					continue
				}
				total += polyKernel(v, d)
			}
		}
	}
	return total
}

func polyKernel(dot, d float64) float64 {
	k := dot/d + 1
	return k * k * k
}

// kidSubset is one subset of KID: indices into the first and the second set.
type kidSubset struct{ x, y []int }

// kidOnSubsets returns the unbiased MMD² of each subset.
func kidOnSubsets(a, b *Features, subsets []kidSubset) []float64 {
	m, n := a.Len(), b.Len()
	out := make([]float64, len(subsets))
	if m+n <= kidGramLimit {
		// One kernel matrix over the union: a's vectors, then b's.
		k, t := unionKernel(a, b, nil, nil)
		for i, s := range subsets {
			out[i] = subsetMMD2(k, t, s.x, s.y, m)
		}
		return out
	}
	for i, s := range subsets {
		k, t := unionKernel(a, b, s.x, s.y)
		out[i] = subsetMMD2(k, t, iota(len(s.x)), iota(len(s.y)), len(s.x))
	}
	return out
}

// kidFloat32Work is the number of multiply-adds of a Gram matrix above which
// KID computes it with gantry's float32 matrix product instead of gonum's
// float64 one (about a hundred times slower).
var kidFloat32Work = 1e9

// unionKernel returns the t×t kernel matrix, row-major, between rows xs of a
// followed by rows ys of b (all rows of a set when its indices are nil).
func unionKernel(a, b *Features, xs, ys []int) (k []float64, t int) {
	nx, ny := len(xs), len(ys)
	if xs == nil {
		nx = a.Len()
	}
	if ys == nil {
		ny = b.Len()
	}
	t = nx + ny
	dim := a.Dim()
	d := float64(dim)
	if float64(t)*float64(t)*d > kidFloat32Work {
		z := tensor.New(t, dim)
		zd := z.Data()
		for i := range t {
			var row []float32
			switch {
			case i < nx && xs == nil:
				row = a.Row(i)
			case i < nx:
				row = a.Row(xs[i])
			case ys == nil:
				row = b.Row(i - nx)
			default:
				row = b.Row(ys[i-nx])
			}
			copy(zd[i*dim:(i+1)*dim], row)
		}
		g := tensor.MatMulT(z, z, false, true).Data()
		k = make([]float64, t*t)
		for i := range t {
			for j := i; j < t; j++ {
				// Average the two triangles so that k is exactly symmetric.
				v := polyKernel(0.5*(float64(g[i*t+j])+float64(g[j*t+i])), d)
				k[i*t+j] = v
				k[j*t+i] = v
			}
		}
		return k, t
	}
	x, y := a.dense(xs), b.dense(ys)
	var z mat.Dense
	z.Stack(x, y)
	g := mat.NewSymDense(t, nil)
	g.SymOuterK(1, &z)
	// Apply the kernel in place, filling both triangles of g's storage.
	raw := g.RawSymmetric()
	k = raw.Data
	for i := range t {
		for j := i; j < t; j++ {
			v := polyKernel(k[i*raw.Stride+j], d)
			k[i*raw.Stride+j] = v
			k[j*raw.Stride+i] = v
		}
	}
	return k, t
}

// subsetMMD2 returns the unbiased MMD² between the vectors xs and ys (ys
// offset by off) of the t×t kernel matrix k.
func subsetMMD2(k []float64, t int, xs, ys []int, off int) float64 {
	sum := func(p, q []int, po, qo int, offDiag bool) float64 {
		var s float64
		for _, i := range p {
			row := k[(i+po)*t : (i+po+1)*t]
			for _, j := range q {
				s += row[j+qo]
			}
		}
		if offDiag {
			for _, i := range p {
				s -= k[(i+po)*t+i+po]
			}
		}
		return s
	}
	m, n := float64(len(xs)), float64(len(ys))
	sxx := sum(xs, xs, 0, 0, true)
	syy := sum(ys, ys, off, off, true)
	sxy := sum(xs, ys, 0, off, false)
	return sxx/(m*(m-1)) + syy/(n*(n-1)) - 2*sxy/(m*n)
}

// sampleIndices returns k distinct indices from [0, n) in random order, by a
// partial Fisher-Yates shuffle.
func sampleIndices(n, k int, r *rand.Rand) []int {
	p := iota(n)
	for i := range k {
		j := i + r.IntN(n-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:k:k]
}

func iota(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}
