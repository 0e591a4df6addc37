package tensor

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/internal/kernels"
)

// BroadcastShapes returns the shape that NumPy broadcasting gives operands of
// shapes a and b.
//
// It panics if the shapes cannot be broadcast together.
func BroadcastShapes(a, b []int) []int { return broadcastShapes("BroadcastShapes", a, b) }

func broadcastShapes(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("tensor: %s: shapes %v and %v do not broadcast", op, a, b))
		}
	}
	return out
}

// bcastStrides returns the element strides of a tensor of shape s read as the
// broadcast shape out: 0 along stretched dimensions.
func bcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	acc := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(s) - len(out) + i
		if j < 0 || s[j] == 1 {
			st[i] = 0
		} else {
			st[i] = acc
		}
		if j >= 0 {
			acc *= s[j]
		}
	}
	return st
}

// bcastPlan is an iteration over a broadcast output with adjacent dimensions
// merged wherever every operand's layout allows, so the innermost loop is as
// long as possible.
type bcastPlan struct {
	dims    []int   // merged output dimensions
	strides [][]int // per operand, per merged dimension
	inner   int     // size of the last merged dimension
}

func newPlan(out []int, shapes ...[]int) bcastPlan {
	st := make([][]int, len(shapes))
	for k, s := range shapes {
		st[k] = bcastStrides(s, out)
	}
	dims := slices.Clone(out)
	if len(dims) == 0 {
		dims = []int{1}
		for k := range st {
			st[k] = []int{0}
		}
	}
	// Merge dimension i into i+1 (from the right) when, for every operand,
	// stride[i] == stride[i+1]*dims[i+1].
	md := []int{dims[len(dims)-1]}
	ms := make([][]int, len(st))
	for k := range st {
		ms[k] = []int{st[k][len(dims)-1]}
	}
	for i := len(dims) - 2; i >= 0; i-- {
		ok := true
		for k := range st {
			if st[k][i] != ms[k][0]*md[0] {
				ok = false
				break
			}
		}
		if ok {
			md[0] *= dims[i]
			continue
		}
		md = append([]int{dims[i]}, md...)
		for k := range st {
			ms[k] = append([]int{st[k][i]}, ms[k]...)
		}
	}
	return bcastPlan{dims: md, strides: ms, inner: md[len(md)-1]}
}

// each calls fn once per run of the innermost dimension, with the starting
// offset of each operand and the output offset (outputs are compact). Runs
// are split across the kernels' workers when there are parallelGrain
// elements or more, so fn must be safe to call concurrently on different
// runs; each run is computed as it would be serially, so results do not
// depend on the thread count.
func (p bcastPlan) each(fn func(out int, offs []int)) {
	outer := 1
	for _, d := range p.dims[:len(p.dims)-1] {
		outer *= d
	}
	kernels.ParallelFor(outer, max(1, parallelGrain/max(1, p.inner)), func(lo, hi int) {
		p.eachRange(lo, hi, fn)
	})
}

// eachRange is each over the runs [lo, hi) of the outer dimensions.
func (p bcastPlan) eachRange(lo, hi int, fn func(out int, offs []int)) {
	nd := len(p.dims)
	idx := make([]int, nd)
	offs := make([]int, len(p.strides))
	// Position the counter at run lo.
	for d, r := nd-2, lo; d >= 0; d-- {
		idx[d] = r % p.dims[d]
		r /= p.dims[d]
		for k := range offs {
			offs[k] += idx[d] * p.strides[k][d]
		}
	}
	for o := lo; o < hi; o++ {
		fn(o*p.inner, offs)
		// advance the counter over the outer dimensions
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			for k := range offs {
				offs[k] += p.strides[k][d]
			}
			if idx[d] < p.dims[d] {
				break
			}
			for k := range offs {
				offs[k] -= p.strides[k][d] * p.dims[d]
			}
			idx[d] = 0
		}
	}
}

// BroadcastTo returns t stretched to shape, as a new compact tensor.
//
// It panics if t's shape does not broadcast to shape.
func BroadcastTo(t *Tensor, shape ...int) *Tensor {
	if got := broadcastShapes("BroadcastTo", shape, t.shape); !slices.Equal(got, shape) {
		panic(fmt.Sprintf("tensor: BroadcastTo: shape %v does not broadcast to %v", t.shape, shape))
	}
	if slices.Equal(t.shape, shape) {
		return t.Clone()
	}
	out := newDirty("BroadcastTo", shape)
	p := newPlan(shape, t.shape)
	st := p.strides[0][len(p.dims)-1]
	p.each(func(o int, offs []int) {
		dst := out.data[o : o+p.inner]
		if st == 0 {
			v := t.data[offs[0]]
			for i := range dst {
				dst[i] = v
			}
		} else {
			copy(dst, t.data[offs[0]:offs[0]+p.inner])
		}
	})
	return out
}

// SumTo sums t over the dimensions that broadcasting would have stretched to
// reach t's shape from shape, returning a tensor of the given shape. It is the
// adjoint of BroadcastTo.
//
// It panics if shape does not broadcast to t's shape.
func SumTo(t *Tensor, shape ...int) *Tensor {
	if got := broadcastShapes("SumTo", t.shape, shape); !slices.Equal(got, t.shape) {
		panic(fmt.Sprintf("tensor: SumTo: shape %v does not broadcast to %v", shape, t.shape))
	}
	if slices.Equal(t.shape, shape) {
		return t.Clone()
	}
	lead := len(t.shape) - len(shape)
	var axes []int
	for i := range t.shape {
		if i < lead || (shape[i-lead] == 1 && t.shape[i] != 1) {
			axes = append(axes, i)
		}
	}
	return Sum(t, true, axes...).Reshape(shape...)
}
