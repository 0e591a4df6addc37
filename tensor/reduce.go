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

// reduce folds t over the given (sorted, distinct) axes. When the axes are
// not one contiguous run, t is first permuted so they are.
func reduce(op string, kind redOp, t *Tensor, keep bool, axes []int) *Tensor {
	axes = t.normAxes(op, axes)
	outShape := reducedShape(t.shape, axes, keep)
	if len(axes) == 0 {
		return &Tensor{shape: outShape, data: slices.Clone(t.data)}
	}
	src := t
	first, last := axes[0], axes[len(axes)-1]
	if last-first+1 != len(axes) {
		// Move the reduced axes to the end, keeping the others in order.
		var perm []int
		for i := range t.shape {
			if !slices.Contains(axes, i) {
				perm = append(perm, i)
			}
		}
		perm = append(perm, axes...)
		src = Permute(t, perm...)
		first = len(t.shape) - len(axes)
		last = len(t.shape) - 1
	}
	outer, r, inner := 1, 1, 1
	for i, d := range src.shape {
		switch {
		case i < first:
			outer *= d
		case i <= last:
			r *= d
		default:
			inner *= d
		}
	}
	out := &Tensor{shape: outShape, data: make([]float32, outer*inner)}
	if r == 0 {
		if kind != redSum {
			panic(fmt.Sprintf("tensor: %s: reducing an empty axis of shape %v", op, t.shape))
		}
		return out
	}
	grain := max(1, parallelGrain/max(1, r*inner))
	kernels.ParallelFor(outer, grain, func(lo, hi int) {
		acc := make([]float64, inner)
		for o := lo; o < hi; o++ {
			base := src.data[o*r*inner : (o+1)*r*inner]
			dst := out.data[o*inner : (o+1)*inner]
			switch kind {
			case redSum:
				clear(acc)
				for k := 0; k < r; k++ {
					row := base[k*inner : (k+1)*inner]
					for j, v := range row {
						acc[j] += float64(v)
					}
				}
				for j := range dst {
					dst[j] = float32(acc[j])
				}
			case redMax, redMin:
				copy(dst, base[:inner])
				for k := 1; k < r; k++ {
					row := base[k*inner : (k+1)*inner]
					for j, v := range row {
						d := dst[j]
						if d != d {
							continue
						}
						if v != v || (kind == redMax && v > d) || (kind == redMin && v < d) {
							dst[j] = v
						}
					}
				}
			}
		}
	})
	return out
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

// Var returns the variance of t over the given axes (every axis when none are
// given), dividing by n-ddof: ddof 0 is the biased (population) variance that
// normalisation layers use, ddof 1 the unbiased one.
//
// It panics if an axis is out of range or repeated.
func Var(t *Tensor, ddof int, keepDims bool, axes ...int) *Tensor {
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
