package tensor

import (
	"fmt"

	"github.com/gantry-go/gantry/internal/kernels"
)

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

// colBudget bounds the im2col scratch matrix, in elements, when several
// images are lowered together.
const colBudget = 1 << 21

func chunkSize(n, perImage int) int { return max(1, min(n, colBudget/max(1, perImage))) }

// lowered is the im2col form of a convolution over a batch: images are
// processed in chunks of nb, each lowered to a [K, nb*Ho*Wo] matrix so one
// GEMM covers the chunk.
type lowered struct {
	g       kernels.ConvGeom
	n, o    int // batch size and output channels
	k, hw   int // C*KH*KW and Ho*Wo
	in      int // C*H*W
	nb      int // images per chunk
	col     *[]float32
	scratch *[]float32 // a chunk of output-shaped data, channel-major, when nb > 1
}

func newLowered(g kernels.ConvGeom, n, o int) *lowered {
	l := &lowered{g: g, n: n, o: o, k: g.C * g.KH * g.KW, hw: g.Ho * g.Wo, in: g.C * g.H * g.W}
	l.nb = chunkSize(n, l.k*l.hw)
	l.col = getScratch(l.k * l.nb * l.hw)
	if l.nb > 1 {
		l.scratch = getScratch(o * l.nb * l.hw)
	}
	return l
}

func (l *lowered) release() { putScratch(l.col); putScratch(l.scratch) }

// im2col lowers images s..s+b of x into the column matrix.
func (l *lowered) im2col(x []float32, s, b int) {
	col := *l.col
	kernels.ParallelFor(b, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			kernels.Im2col(l.g, x[(s+i)*l.in:(s+i+1)*l.in], col, b*l.hw, i*l.hw)
		}
	})
}

// gather returns images s..s+b of y [N,O,Ho,Wo] as a channel-major
// [O, b*Ho*Wo] matrix (y itself when b is 1).
func (l *lowered) gather(y []float32, s, b int) []float32 {
	if b == 1 {
		return y[s*l.o*l.hw : (s+1)*l.o*l.hw]
	}
	m, ld := *l.scratch, b*l.hw
	for i := 0; i < b; i++ {
		for c := 0; c < l.o; c++ {
			copy(m[c*ld+i*l.hw:c*ld+(i+1)*l.hw], y[((s+i)*l.o+c)*l.hw:])
		}
	}
	return m
}

// scatter is the inverse of gather: it stores the channel-major matrix m
// into images s..s+b of y.
func (l *lowered) scatter(m, y []float32, s, b int) {
	ld := b * l.hw
	for i := 0; i < b; i++ {
		for c := 0; c < l.o; c++ {
			copy(y[((s+i)*l.o+c)*l.hw:((s+i)*l.o+c+1)*l.hw], m[c*ld+i*l.hw:])
		}
	}
}

// Conv2d returns the 2-D cross-correlation of x [N,C,H,W] with filters
// w [O,C,KH,KW] (no bias), of shape [N,O,Ho,Wo], as torch.nn.functional.conv2d.
//
// It panics if the shapes are not as above or the kernel does not fit.
func Conv2d(x, w *Tensor, p ConvParams) *Tensor {
	p = p.norm("Conv2d")
	g := convGeom("Conv2d", x.shape, w.shape, p)
	n, o := x.shape[0], w.shape[0]
	y := &Tensor{shape: []int{n, o, g.Ho, g.Wo}, data: make([]float32, n*o*g.Ho*g.Wo)}
	if n == 0 {
		return y
	}
	l := newLowered(g, n, o)
	defer l.release()
	for s := 0; s < n; s += l.nb {
		b := min(l.nb, n-s)
		ld := b * l.hw
		l.im2col(x.data, s, b)
		if b == 1 {
			kernels.Sgemm(false, false, o, ld, l.k, 1, w.data, l.k, *l.col, ld, 0, y.data[s*o*l.hw:(s+1)*o*l.hw], ld)
			continue
		}
		kernels.Sgemm(false, false, o, ld, l.k, 1, w.data, l.k, *l.col, ld, 0, *l.scratch, ld)
		l.scatter(*l.scratch, y.data, s, b)
	}
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
	if n == 0 {
		return dx
	}
	l := newLowered(g, n, o)
	defer l.release()
	for s := 0; s < n; s += l.nb {
		b := min(l.nb, n-s)
		ld := b * l.hw
		kernels.Sgemm(true, false, l.k, ld, o, 1, wt.data, l.k, l.gather(gy.data, s, b), ld, 0, *l.col, ld)
		col := *l.col
		kernels.ParallelFor(b, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				kernels.Col2im(g, col, ld, i*l.hw, dx.data[(s+i)*l.in:(s+i+1)*l.in])
			}
		})
	}
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
	if n == 0 {
		return dw
	}
	l := newLowered(g, n, o)
	defer l.release()
	for s := 0; s < n; s += l.nb {
		b := min(l.nb, n-s)
		ld := b * l.hw
		l.im2col(x.data, s, b)
		beta := float32(1)
		if s == 0 {
			beta = 0
		}
		kernels.Sgemm(false, true, o, l.k, ld, 1, l.gather(gy.data, s, b), ld, *l.col, ld, beta, dw.data, l.k)
	}
	return dw
}

// UpsampleNearest returns x [N,C,H,W] enlarged s times along both spatial
// axes by repeating pixels: [N,C,s*H,s*W], as F.interpolate(mode="nearest").
//
// It panics if x is not 4-D or s < 1.
func UpsampleNearest(x *Tensor, s int) *Tensor {
	if len(x.shape) != 4 || s < 1 {
		panic(fmt.Sprintf("tensor: UpsampleNearest: input %v, scale %d: want [N,C,H,W] and scale >= 1", x.shape, s))
	}
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	out := New(n, c, h*s, w*s)
	ow := w * s
	kernels.ParallelFor(n*c, max(1, parallelGrain/max(1, h*w*s*s)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.data[p*h*w : (p+1)*h*w]
			dst := out.data[p*h*w*s*s : (p+1)*h*w*s*s]
			for i := 0; i < h; i++ {
				row := dst[i*s*ow : (i*s+1)*ow]
				for j, v := range src[i*w : (i+1)*w] {
					for q := range s {
						row[j*s+q] = v
					}
				}
				for r := 1; r < s; r++ {
					copy(dst[(i*s+r)*ow:(i*s+r+1)*ow], row)
				}
			}
		}
	})
	return out
}

// AvgPool2d returns the means of the non-overlapping k×k windows of
// x [N,C,H,W]: [N,C,H/k,W/k], rounding down (trailing rows and columns that
// do not fill a window are dropped), as F.avg_pool2d(x, k).
//
// It panics if x is not 4-D, k < 1, or k exceeds H or W.
func AvgPool2d(x *Tensor, k int) *Tensor {
	if len(x.shape) != 4 || k < 1 || k > x.shape[2] || k > x.shape[3] {
		panic(fmt.Sprintf("tensor: AvgPool2d: input %v, kernel %d: want [N,C,H,W] with H,W >= kernel >= 1", x.shape, k))
	}
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	oh, ow := h/k, w/k
	out := New(n, c, oh, ow)
	inv := 1 / float32(k*k)
	kernels.ParallelFor(n*c, max(1, parallelGrain/max(1, h*w)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.data[p*h*w : (p+1)*h*w]
			dst := out.data[p*oh*ow : (p+1)*oh*ow]
			for i := 0; i < oh; i++ {
				d := dst[i*ow : (i+1)*ow]
				for r := 0; r < k; r++ {
					s := src[(i*k+r)*w : (i*k+r+1)*w]
					for j := range d {
						var acc float32
						for q := range k {
							acc += s[j*k+q]
						}
						d[j] += acc
					}
				}
				for j := range d {
					d[j] *= inv
				}
			}
		}
	})
	return out
}
