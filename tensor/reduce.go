package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/gantry-go/gantry/internal/kernels"
)

// normAxes resolves axes against t (negative counts from the end), sorts
// them and rejects repeats. No axes means every axis.
func (t *Tensor) normAxes(op string, axes []int) []int {
	if len(axes) == 0 {
		all := make([]int, len(t.shape))
		for i := range all {
			all[i] = i
		}
		return all
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = t.axis(op, a)
	}
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			panic(fmt.Sprintf("tensor: %s: axis %d repeated in %v", op, out[i], axes))
		}
	}
	return out
}

// reducedShape returns the output shape of reducing t over axes.
func reducedShape(shape, axes []int, keep bool) []int {
	var out []int
	for i, d := range shape {
		if slices.Contains(axes, i) {
			if keep {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	if out == nil {
		out = []int{}
	}
	return out
}

type redOp int

const (
	redSum redOp = iota
	redMax
	redMin
)

// reduce folds t over the given axes. The axes are split into runs of
// adjacent axes, folded one run at a time from the last, so every pass reads
// memory in order and no transposed copy is made.
func reduce(op string, kind redOp, t *Tensor, keep bool, axes []int) *Tensor {
	axes = t.normAxes(op, axes)
	outShape := reducedShape(t.shape, axes, keep)
	if len(axes) == 0 {
		return &Tensor{shape: outShape, data: slices.Clone(t.data)}
	}
	shape := slices.Clone(t.shape)
	data := t.data
	for end := len(axes) - 1; end >= 0; {
		start := end
		for start > 0 && axes[start-1] == axes[start]-1 {
			start--
		}
		first, last := axes[start], axes[end]
		outer, r, inner := 1, 1, 1
		for i, d := range shape {
			switch {
			case i < first:
				outer *= d
			case i <= last:
				r *= d
			default:
				inner *= d
			}
		}
		if r == 0 && kind != redSum {
			panic(fmt.Sprintf("tensor: %s: reducing an empty axis of shape %v", op, t.shape))
		}
		out := make([]float32, outer*inner)
		reduceRun(kind, data, out, outer, r, inner)
		data = out
		for i := first; i <= last; i++ {
			shape[i] = 1
		}
		end = start - 1
	}
	return &Tensor{shape: outShape, data: data}
}

// reduceRun folds src, read as [outer, r, inner], over its middle axis into
// dst [outer, inner]. Sums accumulate in float64.
func reduceRun(kind redOp, src, dst []float32, outer, r, inner int) {
	if r == 0 {
		return // sums of nothing stay 0
	}
	grain := max(1, parallelGrain/max(1, r*inner))
	kernels.ParallelFor(outer, grain, func(lo, hi int) {
		var acc []float64
		if kind == redSum && inner > 1 {
			acc = make([]float64, inner)
		}
		for o := lo; o < hi; o++ {
			base := src[o*r*inner : (o+1)*r*inner]
			d := dst[o*inner : (o+1)*inner]
			switch {
			case kind == redSum && inner == 1:
				d[0] = float32(sum64(base))
			case kind == redSum:
				clear(acc)
				for k := 0; k < r; k++ {
					row := base[k*inner : (k+1)*inner]
					acc := acc[:len(row)]
					for j, v := range row {
						acc[j] += float64(v)
					}
				}
				for j := range d {
					d[j] = float32(acc[j])
				}
			default:
				copy(d, base[:inner])
				for k := 1; k < r; k++ {
					row := base[k*inner : (k+1)*inner]
					d := d[:len(row)]
					for j, v := range row {
						m := d[j]
						if m != m {
							continue
						}
						if v != v || (kind == redMax && v > m) || (kind == redMin && v < m) {
							d[j] = v
						}
					}
				}
			}
		}
	})
}

// sum64 adds s in float64 with four independent accumulators.
func sum64(s []float32) float64 {
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a0 += float64(s[i])
		a1 += float64(s[i+1])
		a2 += float64(s[i+2])
		a3 += float64(s[i+3])
	}
	for ; i < len(s); i++ {
		a0 += float64(s[i])
	}
	return (a0 + a1) + (a2 + a3)
}

// Sum returns the sum of t over the given axes (every axis when none are
// given), accumulated in float64. With keepDims the reduced axes stay, with
// size 1.
//
// It panics if an axis is out of range or repeated.
func Sum(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return reduce("Sum", redSum, t, keepDims, axes)
}

// Mean returns the mean of t over the given axes (every axis when none are
// given). With keepDims the reduced axes stay, with size 1.
//
// It panics if an axis is out of range or repeated.
func Mean(t *Tensor, keepDims bool, axes ...int) *Tensor {
	s := Sum(t, keepDims, axes...)
	n := len(t.data) / max(1, len(s.data))
	if len(s.data) == 0 {
		return s
	}
	inv := float32(1 / float64(n))
	if n == 0 {
		inv = float32(math.NaN())
	}
	for i := range s.data {
		s.data[i] *= inv
	}
	return s
}

// Max returns the maximum of t over the given axes (every axis when none are
// given); NaN propagates. With keepDims the reduced axes stay, with size 1.
//
// It panics if an axis is out of range or repeated, or an axis is empty.
func Max(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return reduce("Max", redMax, t, keepDims, axes)
}

// Min returns the minimum of t over the given axes (every axis when none are
// given); NaN propagates. With keepDims the reduced axes stay, with size 1.
//
// It panics if an axis is out of range or repeated, or an axis is empty.
func Min(t *Tensor, keepDims bool, axes ...int) *Tensor {
	return reduce("Min", redMin, t, keepDims, axes)
}

// Variance returns the variance of t over the given axes (every axis when none are
// given), dividing by n-ddof: ddof 0 is the biased (population) variance that
// normalisation layers use, ddof 1 the unbiased one.
//
// It panics if an axis is out of range or repeated.
func Variance(t *Tensor, ddof int, keepDims bool, axes ...int) *Tensor {
	m := Mean(t, true, axes...)
	d := Square(Sub(t, m))
	s := Sum(d, keepDims, axes...)
	n := len(t.data) / max(1, len(s.data))
	inv := float32(1 / float64(n-ddof))
	for i := range s.data {
		s.data[i] *= inv
	}
	return s
}

// ArgMax returns, for each position of the other axes, the index of the
// largest element along axis (the first one on ties). The result has t's
// shape without that axis.
//
// It panics if axis is out of range or empty.
func ArgMax(t *Tensor, axis int) []int {
	axis = t.axis("ArgMax", axis)
	outer, r, inner := 1, t.shape[axis], 1
	for i, d := range t.shape {
		if i < axis {
			outer *= d
		} else if i > axis {
			inner *= d
		}
	}
	if r == 0 {
		panic(fmt.Sprintf("tensor: ArgMax: axis %d is empty in shape %v", axis, t.shape))
	}
	out := make([]int, outer*inner)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			best, bi := t.data[o*r*inner+j], 0
			for k := 1; k < r; k++ {
				if v := t.data[(o*r+k)*inner+j]; v > best {
					best, bi = v, k
				}
			}
			out[o*inner+j] = bi
		}
	}
	return out
}
