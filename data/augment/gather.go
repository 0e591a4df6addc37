package augment

import (
	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// gatherHW moves pixels: out[n,c,i,j] = x[n,c,y,x] where (y, x, ok) =
// src(n, i, j), or 0 when ok is false. It is one IndexSelect on the flattened
// batch with a zero appended, so its gradient is the matching IndexAdd.
func gatherHW(x *autograd.Var, src func(n, i, j int) (int, int, bool)) *autograd.Var {
	s := x.Shape()
	n, c, h, w := s[0], s[1], s[2], s[3]
	size := n * c * h * w
	idx := make([]int, size)
	plane := make([]int, h*w)
	for b := range n {
		for i := range h {
			for j := range w {
				y, xx, ok := src(b, i, j)
				if ok {
					plane[i*w+j] = y*w + xx
				} else {
					plane[i*w+j] = -1
				}
			}
		}
		for ch := range c {
			base := (b*c + ch) * h * w
			for k, p := range plane {
				if p < 0 {
					idx[base+k] = size // the appended zero
				} else {
					idx[base+k] = base + p
				}
			}
		}
	}
	flat := autograd.Concat(0, autograd.Reshape(x, size), autograd.Const(tensor.New(1)))
	return autograd.Reshape(autograd.IndexSelect(flat, 0, idx), n, c, h, w)
}

// perSample returns a constant [N, 1, 1, 1] tensor of the values v.
func perSample(v []float32) *autograd.Var {
	return autograd.Const(tensor.FromSlice(append([]float32(nil), v...), len(v), 1, 1, 1))
}
