package tensor

import (
	"fmt"

	"github.com/gantry-go/gantry/internal/kernels"
)

// The convolutions check shapes and allocate here; internal/kernels
// (convpath.go) chooses how each is computed (direct kernels, implicit GEMM,
// im2col) and computes it.

// ConvParams holds a 2-D convolution's stride, zero padding and dilation, as
// (height, width) pairs. Zero strides and dilations mean 1, so the zero value
// is a stride-1, unpadded, undilated convolution.
type ConvParams struct {
	Stride   [2]int
	Padding  [2]int
	Dilation [2]int
}

func (p ConvParams) norm(op string) ConvParams {
	for i := range 2 {
		if p.Stride[i] == 0 {
			p.Stride[i] = 1
		}
		if p.Dilation[i] == 0 {
			p.Dilation[i] = 1
		}
		if p.Stride[i] < 0 || p.Dilation[i] < 0 || p.Padding[i] < 0 {
			panic(fmt.Sprintf("tensor: %s: negative stride, padding or dilation in %+v", op, p))
		}
	}
	return p
}

// geom checks the shapes of a convolution of images [N,C,H,W] with filters
// [O,C,KH,KW] and returns its geometry.
func convGeom(op string, x, w []int, p ConvParams) kernels.ConvGeom {
	if len(x) != 4 || len(w) != 4 || x[1] != w[1] {
		panic(fmt.Sprintf("tensor: %s: input %v and weight %v are not [N,C,H,W] and [O,C,KH,KW]", op, x, w))
	}
	if x[1] < 1 || w[2] < 1 || w[3] < 1 {
		panic(fmt.Sprintf("tensor: %s: input %v and weight %v: want at least one channel and a kernel of at least 1x1", op, x, w))
	}
	g := kernels.ConvGeom{C: x[1], H: x[2], W: x[3], KH: w[2], KW: w[3],
		SH: p.Stride[0], SW: p.Stride[1], PH: p.Padding[0], PW: p.Padding[1],
		DH: p.Dilation[0], DW: p.Dilation[1]}
	g.Ho = kernels.OutSize(g.H, g.KH, g.SH, g.PH, g.DH)
	g.Wo = kernels.OutSize(g.W, g.KW, g.SW, g.PW, g.DW)
	if g.Ho <= 0 || g.Wo <= 0 {
		panic(fmt.Sprintf("tensor: %s: kernel %v does not fit input %v with %+v", op, w, x, p))
	}
	return g
}

// Conv2d returns the 2-D cross-correlation of x [N,C,H,W] with filters
// w [O,C,KH,KW] (no bias), of shape [N,O,Ho,Wo], as torch.nn.functional.conv2d.
//
// NaN and infinities propagate as in the convolution of the zero-padded
// input with every tap multiplied, whichever algorithm runs: a NaN input
// pixel makes NaN every output whose window holds it, a NaN weight every
// output of its filter (0·NaN is NaN). Conv2dInputGrad and Conv2dWeightGrad
// are the adjoints of that convolution.
//
// It panics if the shapes are not as above or the kernel does not fit.
func Conv2d(x, w *Tensor, p ConvParams) *Tensor { return Conv2dBias(x, w, nil, p) }

// Conv2dBias is Conv2d plus b [O] on every pixel of output channel o, in the
// same pass where it can (on the direct kernels, the accumulators start at
// the bias); b may be nil.
//
// It panics if the shapes are not as above or the kernel does not fit.
func Conv2dBias(x, w, b *Tensor, p ConvParams) *Tensor {
	p = p.norm("Conv2d")
	g := convGeom("Conv2d", x.shape, w.shape, p)
	n, o := x.shape[0], w.shape[0]
	if b != nil && (len(b.shape) != 1 || b.shape[0] != o) {
		panic(fmt.Sprintf("tensor: Conv2d: bias %v for %d filters: want [%d]", b.shape, o, o))
	}
	y := New(n, o, g.Ho, g.Wo) // the kernels want it zero
	var bias []float32
	if b != nil {
		bias = b.data
	}
	kernels.Conv2d(g, n, o, x.data, w.data, bias, y.data)
	return y
}

// Conv2dInputGrad returns the gradient of a Conv2d with respect to its input
// of height h and width w, given the output gradient gy [N,O,Ho,Wo] and the
// filters wt [O,C,KH,KW]: the transposed convolution of gy with wt.
//
// It panics if the shapes do not match a convolution with these parameters.
func Conv2dInputGrad(gy, wt *Tensor, h, w int, p ConvParams) *Tensor {
	p = p.norm("Conv2dInputGrad")
	if len(gy.shape) != 4 || len(wt.shape) != 4 || gy.shape[1] != wt.shape[0] {
		panic(fmt.Sprintf("tensor: Conv2dInputGrad: gradient %v and weight %v do not match", gy.shape, wt.shape))
	}
	n, o := gy.shape[0], wt.shape[0]
	g := convGeom("Conv2dInputGrad", []int{n, wt.shape[1], h, w}, wt.shape, p)
	if g.Ho != gy.shape[2] || g.Wo != gy.shape[3] {
		panic(fmt.Sprintf("tensor: Conv2dInputGrad: gradient %v does not match output %dx%d of input %dx%d", gy.shape, g.Ho, g.Wo, h, w))
	}
	dx := New(n, g.C, h, w)
	kernels.Conv2dInputGrad(g, n, o, gy.data, wt.data, dx.data)
	return dx
}

// Conv2dWeightGrad returns the gradient of a Conv2d with respect to its
// filters of size kh×kw, given the input x [N,C,H,W] and the output gradient
// gy [N,O,Ho,Wo]. The result has shape [O,C,kh,kw].
//
// It panics if the shapes do not match a convolution with these parameters.
func Conv2dWeightGrad(x, gy *Tensor, kh, kw int, p ConvParams) *Tensor {
	p = p.norm("Conv2dWeightGrad")
	if len(gy.shape) != 4 || len(x.shape) != 4 || gy.shape[0] != x.shape[0] {
		panic(fmt.Sprintf("tensor: Conv2dWeightGrad: input %v and gradient %v do not match", x.shape, gy.shape))
	}
	n, o := x.shape[0], gy.shape[1]
	g := convGeom("Conv2dWeightGrad", x.shape, []int{o, x.shape[1], kh, kw}, p)
	if g.Ho != gy.shape[2] || g.Wo != gy.shape[3] {
		panic(fmt.Sprintf("tensor: Conv2dWeightGrad: gradient %v does not match output %dx%d of input %v", gy.shape, g.Ho, g.Wo, x.shape))
	}
	dw := New(o, g.C, kh, kw)
	kernels.Conv2dWeightGrad(g, n, o, x.data, gy.data, dw.data)
	return dw
}
