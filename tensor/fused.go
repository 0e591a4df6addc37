package tensor

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/internal/kernels"
)

// MulAdd returns a*w + b elementwise with all three broadcast together, in
// one pass: the scale-and-shift of normalisation layers.
//
// It panics if the shapes do not broadcast.
func MulAdd(a, w, b *Tensor) *Tensor {
	shape := broadcastShapes("MulAdd", broadcastShapes("MulAdd", a.shape, w.shape), b.shape)
	out := newDirty("MulAdd", shape)
	if len(out.data) == 0 {
		return out
	}
	p := newPlan(shape, a.shape, w.shape, b.shape)
	last := len(p.dims) - 1
	sa, sw, sb := p.strides[0][last], p.strides[1][last], p.strides[2][last]
	// run sets dst from the operands' elements at offs, stepping by the
	// innermost strides.
	run := func(dst []float32, offs []int) {
		switch {
		case sa == 1 && sw == 0 && sb == 0:
			x, wv, bv := a.data[offs[0]:offs[0]+len(dst)], w.data[offs[1]], b.data[offs[2]]
			for i, v := range x {
				dst[i] = v*wv + bv
			}
		default:
			for i := range dst {
				dst[i] = a.data[offs[0]+i*sa]*w.data[offs[1]+i*sw] + b.data[offs[2]+i*sb]
			}
		}
	}
	if len(p.dims) == 1 {
		kernels.ParallelFor(p.inner, parallelGrain, func(lo, hi int) {
			run(out.data[lo:hi], []int{lo * sa, lo * sw, lo * sb})
		})
		return out
	}
	p.each(func(o int, offs []int) { run(out.data[o:o+p.inner], offs) })
	return out
}

// MulSumTo returns SumTo(Mul(a, b), shape) without forming the product:
// the gradient of a broadcast scale. a and b must have the same shape.
// Per-channel sums of NCHW maps (shape [1,C,1,1], [C,1,1] or [C]) run fused,
// in float64; other shapes fall back to Mul and SumTo.
//
// It panics if a and b differ in shape or shape does not broadcast to it.
func MulSumTo(a, b *Tensor, shape ...int) *Tensor {
	mustSameShape("MulSumTo", a, b)
	if got := broadcastShapes("MulSumTo", a.shape, shape); !slices.Equal(got, a.shape) {
		panic(fmt.Sprintf("tensor: MulSumTo: shape %v does not broadcast to %v", shape, a.shape))
	}
	if len(a.shape) != 4 || !perChannel(shape, a.shape[1]) {
		return SumTo(Mul(a, b), shape...)
	}
	n, c, hw := a.shape[0], a.shape[1], a.shape[2]*a.shape[3]
	out := New(shape...)
	kernels.ParallelFor(c, max(1, parallelGrain/max(1, n*hw)), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for i := range n {
				off := (i*c + ch) * hw
				x, y := a.data[off:off+hw], b.data[off:off+hw]
				var p float32
				for k, v := range x {
					p += v * y[k]
				}
				s += float64(p)
			}
			out.data[ch] = float32(s)
		}
	})
	return out
}

// perChannel reports whether shape keeps only the channel axis of an
// [N,C,H,W] tensor.
func perChannel(shape []int, c int) bool {
	switch len(shape) {
	case 1:
		return shape[0] == c && c != 1
	case 3:
		return shape[0] == c && shape[1] == 1 && shape[2] == 1 && c != 1
	case 4:
		return shape[0] == 1 && shape[1] == c && shape[2] == 1 && shape[3] == 1 && c != 1
	}
	return false
}

// ScaleShiftReLUInto stores max(x·scale + shift, 0) in dst, for x
// [N,C,H,W] and per-channel scale and shift of C elements: a batch norm in
// evaluation mode followed by ReLU, in one pass. dst may be x. A NaN stays
// NaN, as torch.relu.
//
// It panics if x is not 4-D, dst's shape differs from x's, or scale or
// shift does not have C elements.
func ScaleShiftReLUInto(dst, x, scale, shift *Tensor) {
	if len(x.shape) != 4 || !slices.Equal(dst.shape, x.shape) || scale.Len() != x.shape[1] || shift.Len() != x.shape[1] {
		panic(fmt.Sprintf("tensor: ScaleShiftReLUInto: destination %v, input %v, scale %v, shift %v: want [N,C,H,W] twice and [C]", dst.shape, x.shape, scale.shape, shift.shape))
	}
	c, hw := x.shape[1], x.shape[2]*x.shape[3]
	kernels.ParallelFor(x.shape[0]*c, max(1, parallelGrain/max(1, hw)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			s, t := scale.data[p%c], shift.data[p%c]
			src, out := x.data[p*hw:(p+1)*hw], dst.data[p*hw:(p+1)*hw]
			for j, v := range src {
				v = v*s + t
				if v < 0 {
					v = 0
				}
				out[j] = v
			}
		}
	})
}
