package tensor

import (
	"fmt"
	"math"

	"github.com/gantry-go/gantry/internal/kernels"
)

// PoolParams describes a 2-D pooling window as (height, width) pairs. A zero
// Stride means the kernel size, as in PyTorch. Padding adds that many
// virtual pixels on each side (ignored by max pooling; counted as zeros by
// average pooling unless ExcludePad is set, PyTorch's
// count_include_pad=False).
type PoolParams struct {
	Kernel     [2]int
	Stride     [2]int
	Padding    [2]int
	ExcludePad bool
}

type poolGeom struct {
	n, c, h, w, oh, ow int
	p                  PoolParams
}

func (p PoolParams) geom(op string, shape []int) poolGeom {
	if len(shape) != 4 {
		panic(fmt.Sprintf("tensor: %s: input %v is not [N,C,H,W]", op, shape))
	}
	for i := range 2 {
		if p.Stride[i] == 0 {
			p.Stride[i] = p.Kernel[i]
		}
		if p.Kernel[i] < 1 || p.Stride[i] < 1 || p.Padding[i] < 0 || 2*p.Padding[i] > p.Kernel[i] {
			panic(fmt.Sprintf("tensor: %s: bad window %+v (kernel >= 1, stride >= 1, 0 <= padding <= kernel/2)", op, p))
		}
	}
	g := poolGeom{n: shape[0], c: shape[1], h: shape[2], w: shape[3], p: p}
	g.oh = (g.h+2*p.Padding[0]-p.Kernel[0])/p.Stride[0] + 1
	g.ow = (g.w+2*p.Padding[1]-p.Kernel[1])/p.Stride[1] + 1
	if g.oh < 1 || g.ow < 1 {
		panic(fmt.Sprintf("tensor: %s: window %+v does not fit input %v", op, p, shape))
	}
	return g
}

// window returns the clipped input rows [y0,y1) and columns [x0,x1) of
// output pixel (i, j), and the divisor average pooling uses for it.
func (g poolGeom) window(i, j int) (y0, y1, x0, x1, div int) {
	p := g.p
	y0 = i*p.Stride[0] - p.Padding[0]
	x0 = j*p.Stride[1] - p.Padding[1]
	y1 = min(y0+p.Kernel[0], g.h+p.Padding[0])
	x1 = min(x0+p.Kernel[1], g.w+p.Padding[1])
	div = (y1 - y0) * (x1 - x0)
	y0, x0 = max(y0, 0), max(x0, 0)
	y1, x1 = min(y1, g.h), min(x1, g.w)
	if p.ExcludePad {
		div = (y1 - y0) * (x1 - x0)
	}
	return
}

func (g poolGeom) planes(fn func(p int)) {
	kernels.ParallelFor(g.n*g.c, max(1, parallelGrain/max(1, g.h*g.w)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			fn(p)
		}
	})
}

// AvgPool2dWith averages the windows of x [N,C,H,W] that p describes, as
// F.avg_pool2d(x, kernel, stride, padding, count_include_pad=!ExcludePad).
//
// It panics if x is not 4-D or the window is invalid or does not fit.
func AvgPool2dWith(x *Tensor, p PoolParams) *Tensor {
	g := p.geom("AvgPool2dWith", x.shape)
	out := New(g.n, g.c, g.oh, g.ow)
	g.planes(func(pl int) {
		src := x.data[pl*g.h*g.w : (pl+1)*g.h*g.w]
		dst := out.data[pl*g.oh*g.ow : (pl+1)*g.oh*g.ow]
		for i := 0; i < g.oh; i++ {
			for j := 0; j < g.ow; j++ {
				y0, y1, x0, x1, div := g.window(i, j)
				var s float32
				for y := y0; y < y1; y++ {
					for _, v := range src[y*g.w+x0 : y*g.w+x1] {
						s += v
					}
				}
				dst[i*g.ow+j] = s / float32(div)
			}
		}
	})
	return out
}

// AvgPool2dWithGrad is the adjoint of AvgPool2dWith for an input of height
// h and width w: it spreads each element of gy [N,C,Ho,Wo] evenly over its
// window.
//
// It panics if gy does not match the pooling of an h×w input.
func AvgPool2dWithGrad(gy *Tensor, h, w int, p PoolParams) *Tensor {
	if len(gy.shape) != 4 {
		panic(fmt.Sprintf("tensor: AvgPool2dWithGrad: gradient %v is not [N,C,Ho,Wo]", gy.shape))
	}
	g := p.geom("AvgPool2dWithGrad", []int{gy.shape[0], gy.shape[1], h, w})
	if g.oh != gy.shape[2] || g.ow != gy.shape[3] {
		panic(fmt.Sprintf("tensor: AvgPool2dWithGrad: gradient %v does not match output %dx%d of input %dx%d", gy.shape, g.oh, g.ow, h, w))
	}
	out := New(g.n, g.c, h, w)
	g.planes(func(pl int) {
		src := gy.data[pl*g.oh*g.ow : (pl+1)*g.oh*g.ow]
		dst := out.data[pl*h*w : (pl+1)*h*w]
		for i := 0; i < g.oh; i++ {
			for j := 0; j < g.ow; j++ {
				y0, y1, x0, x1, div := g.window(i, j)
				v := src[i*g.ow+j] / float32(div)
				for y := y0; y < y1; y++ {
					row := dst[y*w+x0 : y*w+x1]
					for k := range row {
						row[k] += v
					}
				}
			}
		}
	})
	return out
}

// MaxPool2d returns the maxima of the windows of x [N,C,H,W] that p
// describes (padding never wins), as F.max_pool2d, and for each output the
// index within its H×W plane of the element chosen (the first on ties).
//
// It panics if x is not 4-D or the window is invalid or does not fit.
func MaxPool2d(x *Tensor, p PoolParams) (*Tensor, []int32) {
	g := p.geom("MaxPool2d", x.shape)
	out := New(g.n, g.c, g.oh, g.ow)
	arg := make([]int32, len(out.data))
	g.planes(func(pl int) {
		src := x.data[pl*g.h*g.w : (pl+1)*g.h*g.w]
		dst := out.data[pl*g.oh*g.ow : (pl+1)*g.oh*g.ow]
		am := arg[pl*g.oh*g.ow : (pl+1)*g.oh*g.ow]
		for i := 0; i < g.oh; i++ {
			for j := 0; j < g.ow; j++ {
				y0, y1, x0, x1, _ := g.window(i, j)
				best, bi := float32(math.Inf(-1)), y0*g.w+x0
				for y := y0; y < y1; y++ {
					for xx := x0; xx < x1; xx++ {
						if v := src[y*g.w+xx]; v > best || v != v {
							best, bi = v, y*g.w+xx
							if v != v {
								y, xx = y1, x1 // NaN wins
							}
						}
					}
				}
				dst[i*g.ow+j], am[i*g.ow+j] = best, int32(bi)
			}
		}
	})
	return out, arg
}

// PlaneScatter adds each element of src [N,C,Ho,Wo] into the position
// idx names within the matching h×w plane of a zero [N,C,h,w] tensor: the
// gradient of MaxPool2d.
//
// It panics if idx does not have one entry per element of src.
func PlaneScatter(src *Tensor, idx []int32, h, w int) *Tensor {
	if len(src.shape) != 4 || len(idx) != len(src.data) {
		panic(fmt.Sprintf("tensor: PlaneScatter: source %v with %d indices", src.shape, len(idx)))
	}
	out := New(src.shape[0], src.shape[1], h, w)
	k := src.shape[2] * src.shape[3]
	for pl := 0; pl < src.shape[0]*src.shape[1]; pl++ {
		dst := out.data[pl*h*w : (pl+1)*h*w]
		for i, v := range src.data[pl*k : (pl+1)*k] {
			dst[idx[pl*k+i]] += v
		}
	}
	return out
}

// PlaneGather reads, for each entry of idx, the element it names within the
// matching h×w plane of x [N,C,h,w], giving [N,C,oh,ow]: the adjoint of
// PlaneScatter.
//
// It panics if idx does not have N*C*oh*ow entries.
func PlaneGather(x *Tensor, idx []int32, oh, ow int) *Tensor {
	if len(x.shape) != 4 || len(idx) != x.shape[0]*x.shape[1]*oh*ow {
		panic(fmt.Sprintf("tensor: PlaneGather: input %v with %d indices for %dx%d", x.shape, len(idx), oh, ow))
	}
	h, w := x.shape[2], x.shape[3]
	out := New(x.shape[0], x.shape[1], oh, ow)
	k := oh * ow
	for pl := 0; pl < x.shape[0]*x.shape[1]; pl++ {
		src := x.data[pl*h*w : (pl+1)*h*w]
		for i := range k {
			out.data[pl*k+i] = src[idx[pl*k+i]]
		}
	}
	return out
}

// ResizeMatrix returns the [out, in] matrix of 1-D linear interpolation from
// in samples to out samples, as F.interpolate(mode="bilinear") builds it along
// one axis: with alignCorners the end samples map onto each other; without it
// (PyTorch's default) pixel centres are aligned and sources are clamped at the
// edges. A bilinear resize of an image X [H,W] is R_h · X · R_wᵀ.
//
// It panics if in or out is less than 1.
func ResizeMatrix(in, out int, alignCorners bool) *Tensor {
	if in < 1 || out < 1 {
		panic(fmt.Sprintf("tensor: ResizeMatrix: sizes %d -> %d", in, out))
	}
	m := New(out, in)
	for i := range out {
		var src float64
		if alignCorners {
			if out > 1 {
				src = float64(i) * float64(in-1) / float64(out-1)
			}
		} else {
			src = (float64(i)+0.5)*float64(in)/float64(out) - 0.5
			src = max(src, 0)
		}
		i0 := min(int(src), in-1)
		i1 := min(i0+1, in-1)
		f := src - float64(i0)
		m.data[i*in+i0] += float32(1 - f)
		m.data[i*in+i1] += float32(f)
	}
	return m
}
