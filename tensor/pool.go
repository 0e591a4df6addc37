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
	if g.h+2*p.Padding[0] < p.Kernel[0] || g.w+2*p.Padding[1] < p.Kernel[1] {
		panic(fmt.Sprintf("tensor: %s: window %+v does not fit input %v", op, p, shape))
	}
	return g
}

// Window returns the parameters of non-overlapping k×k windows (stride k,
// no padding): the mean pool of the paper's critic blocks,
// AvgPool2d(x, Window(2)).
func Window(k int) PoolParams { return PoolParams{Kernel: [2]int{k, k}, Stride: [2]int{k, k}} }

// tiles reports whether normalised parameters describe non-overlapping
// square windows without padding, and their size.
func (p PoolParams) tiles() (k int, ok bool) {
	k = p.Kernel[0]
	return k, p.Kernel[1] == k && p.Stride == p.Kernel && p.Padding == [2]int{}
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

// AvgPool2d averages the windows of x [N,C,H,W] that p describes, as
// F.avg_pool2d(x, kernel, stride, padding, count_include_pad=!ExcludePad):
// [N,C,Ho,Wo], rounding down (trailing rows and columns that do not fill a
// window are dropped). Window(k) gives the non-overlapping k×k windows of
// the paper's mean pool, which take a faster path.
//
// It panics if x is not 4-D or the window is invalid or does not fit.
func AvgPool2d(x *Tensor, p PoolParams) *Tensor {
	g := p.geom("AvgPool2d", x.shape)
	if k, ok := g.p.tiles(); ok {
		return avgPoolTiles(x, k, g)
	}
	if g.p == (PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true}) {
		return avgPool3(x)
	}
	return g.separable(x, sumOf)
}

// AvgPool2dGrad is the adjoint of AvgPool2d for an input of height h and
// width w: it spreads each element of gy [N,C,Ho,Wo] evenly over its window,
// giving [N,C,h,w].
//
// It panics if gy does not match the pooling of an h×w input.
func AvgPool2dGrad(gy *Tensor, h, w int, p PoolParams) *Tensor {
	if len(gy.shape) != 4 {
		panic(fmt.Sprintf("tensor: AvgPool2dGrad: gradient %v is not [N,C,Ho,Wo]", gy.shape))
	}
	g := p.geom("AvgPool2dGrad", []int{gy.shape[0], gy.shape[1], h, w})
	if g.oh != gy.shape[2] || g.ow != gy.shape[3] {
		panic(fmt.Sprintf("tensor: AvgPool2dGrad: gradient %v does not match output %dx%d of input %dx%d", gy.shape, g.oh, g.ow, h, w))
	}
	if k, ok := g.p.tiles(); ok {
		return spreadTiles(gy, k, g)
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

// avgPoolTiles is AvgPool2d over non-overlapping k×k windows: each output
// row is summed from k input rows in one pass (k = 2 unrolled).
func avgPoolTiles(x *Tensor, k int, g poolGeom) *Tensor {
	n, c, h, w, oh, ow := g.n, g.c, g.h, g.w, g.oh, g.ow
	out := New(n, c, oh, ow)
	inv := 1 / float32(k*k)
	kernels.ParallelFor(n*c, max(1, parallelGrain/max(1, h*w)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.data[p*h*w : (p+1)*h*w]
			dst := out.data[p*oh*ow : (p+1)*oh*ow]
			for i := 0; i < oh; i++ {
				d := dst[i*ow : (i+1)*ow]
				if k == 2 { // the paper's mean pool: one pass over two rows
					s0, s1 := src[2*i*w:(2*i+1)*w], src[(2*i+1)*w:(2*i+2)*w]
					s0, s1 = s0[:2*len(d)], s1[:2*len(d)]
					for j := range d {
						d[j] = ((s0[2*j] + s0[2*j+1]) + (s1[2*j] + s1[2*j+1])) * 0.25
					}
					continue
				}
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

// spreadTiles is AvgPool2dGrad over non-overlapping k×k windows: each
// gradient, divided by k*k, is written over its window; rows and columns
// that no window covered stay zero.
func spreadTiles(gy *Tensor, k int, g poolGeom) *Tensor {
	h, w, oh, ow := g.h, g.w, g.oh, g.ow
	out := New(g.n, g.c, h, w)
	inv := 1 / float32(k*k)
	g.planes(func(pl int) {
		src := gy.data[pl*oh*ow : (pl+1)*oh*ow]
		dst := out.data[pl*h*w : (pl+1)*h*w]
		for i := 0; i < oh; i++ {
			row := dst[i*k*w : i*k*w+ow*k]
			for j, v := range src[i*ow : (i+1)*ow] {
				v *= inv
				for q := range k {
					row[j*k+q] = v
				}
			}
			for r := 1; r < k; r++ {
				copy(dst[(i*k+r)*w:], row)
			}
		}
	})
	return out
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
				if s == 2 {
					row = row[:2*w]
					for j, v := range src[i*w : (i+1)*w] {
						row[2*j], row[2*j+1] = v, v
					}
				} else {
					for j, v := range src[i*w : (i+1)*w] {
						for q := range s {
							row[j*s+q] = v
						}
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

// MaxPool2d returns the maxima of the windows of x [N,C,H,W] that p
// describes (padding never wins; a NaN in a window wins), as F.max_pool2d.
//
// It panics if x is not 4-D or the window is invalid or does not fit.
func MaxPool2d(x *Tensor, p PoolParams) *Tensor {
	g := p.geom("MaxPool2d", x.shape)
	if s := g.p.Stride; g.p.Kernel == [2]int{3, 3} && s[0] == s[1] && g.p.Padding[0] == g.p.Padding[1] && g.p.Padding[0] <= 1 {
		return maxPool3(x, s[0], g.p.Padding[0])
	}
	return g.separable(x, maxOf)
}

// MaxPool2dIndices returns MaxPool2d(x, p) and, for each output, the index
// within its H×W plane of the element chosen (the first on ties): what the
// gradient needs (see ScatterAddPlanes).
//
// It panics if x is not 4-D or the window is invalid or does not fit.
func MaxPool2dIndices(x *Tensor, p PoolParams) (*Tensor, []int32) {
	g := p.geom("MaxPool2dIndices", x.shape)
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

// A pooling window is a rectangle, so its sum or maximum is a sum or maximum
// along rows of sums or maxima along columns: separable computes those of
// each output's window in two passes, kh+kw operations per output instead of
// kh·kw (a 3×3 pool: 6 instead of 9, with rows shared between outputs of
// stride 1). Averages then divide by the window's count, which depends only
// on the output's position.

// reducer combines the values of a window: sumOf or maxOf.
type reducer int

const (
	sumOf reducer = iota // and divide: an average
	maxOf                // NaN wins; padding never does
)

// into reduces src into dst: dst[j] = dst[j] ⊕ src[j].
func (r reducer) into(dst, src []float32) {
	src = src[:len(dst)]
	if r == sumOf {
		for j, v := range src {
			dst[j] += v
		}
		return
	}
	for j, v := range src {
		if v > dst[j] || v != v {
			dst[j] = v
		}
	}
}

func (g poolGeom) separable(x *Tensor, r reducer) *Tensor {
	out := New(g.n, g.c, g.oh, g.ow)
	h, w, oh, ow := g.h, g.w, g.oh, g.ow
	// The clipped input rows and columns of each output row and column,
	// and 1 / the window's count of each output for an average.
	rowSpan, colSpan := make([][2]int, oh), make([][2]int, ow)
	var inv []float32
	if r == sumOf {
		inv = make([]float32, oh*ow)
	}
	for i := range oh {
		for j := range ow {
			y0, y1, x0, x1, div := g.window(i, j)
			rowSpan[i], colSpan[j] = [2]int{y0, y1}, [2]int{x0, x1}
			if inv != nil {
				inv[i*ow+j] = 1 / float32(div)
			}
		}
	}
	kernels.ParallelFor(g.n*g.c, max(1, parallelGrain/max(1, h*w)), func(lo, hi int) {
		rows := make([]float32, h*ow) // each input row reduced over each output's columns
		for pl := lo; pl < hi; pl++ {
			src, dst := x.data[pl*h*w:(pl+1)*h*w], out.data[pl*oh*ow:(pl+1)*oh*ow]
			for y := range h {
				in, row := src[y*w:(y+1)*w], rows[y*ow:(y+1)*ow]
				if r == sumOf {
					for j, c := range colSpan {
						var s float32
						for _, v := range in[c[0]:c[1]] {
							s += v
						}
						row[j] = s
					}
					continue
				}
				for j, c := range colSpan {
					m := in[c[0]]
					for _, v := range in[c[0]+1 : c[1]] {
						if v > m || v != v {
							m = v
						}
					}
					row[j] = m
				}
			}
			// Whole rows at a time, so the inner loops run along memory.
			for i, rs := range rowSpan {
				d := dst[i*ow : (i+1)*ow]
				copy(d, rows[rs[0]*ow:])
				for y := rs[0] + 1; y < rs[1]; y++ {
					r.into(d, rows[y*ow:])
				}
				if inv != nil {
					for j, v := range inv[i*ow : (i+1)*ow] {
						d[j] *= v
					}
				}
			}
		}
	})
	return out
}

// avgPool3 averages the 3×3 windows (stride 1, padding 1) of x [N,C,H,W],
// dividing by the number of pixels inside the image, as
// F.avg_pool2d(x, 3, 1, 1, count_include_pad=False): Inception's pool, with
// the three-wide row sums shared between neighbouring outputs.
func avgPool3(x *Tensor) *Tensor {
	sh := x.shape
	h, w := sh[2], sh[3]
	planes, hw := sh[0]*sh[1], h*w
	out := New(sh...)
	src, dst := x.data, out.data
	// inv[i*w+j] is 1 over the number of pixels of the window at (i, j).
	inv := make([]float32, hw)
	span := func(i, n int) int { return min(i+1, n-1) - max(i-1, 0) + 1 }
	for i := range h {
		for j := range w {
			inv[i*w+j] = 1 / float32(span(i, h)*span(j, w))
		}
	}
	kernels.ParallelFor(planes, max(1, parallelGrain/max(1, hw)), func(lo, hi int) {
		rows := make([]float32, hw) // three-wide row sums
		for p := lo; p < hi; p++ {
			in, o := src[p*hw:(p+1)*hw], dst[p*hw:(p+1)*hw]
			for i := range h {
				r, s := in[i*w:(i+1)*w], rows[i*w:(i+1)*w]
				for j := range w {
					v := r[j]
					if j > 0 {
						v += r[j-1]
					}
					if j+1 < w {
						v += r[j+1]
					}
					s[j] = v
				}
			}
			for i := range h {
				s := rows[i*w : (i+1)*w]
				var up, down []float32
				if i > 0 {
					up = rows[(i-1)*w : i*w]
				}
				if i+1 < h {
					down = rows[(i+1)*w : (i+2)*w]
				}
				oi, vi := o[i*w:(i+1)*w], inv[i*w:(i+1)*w]
				for j := range w {
					v := s[j]
					if up != nil {
						v += up[j]
					}
					if down != nil {
						v += down[j]
					}
					oi[j] = v * vi[j]
				}
			}
		}
	})
	return out
}

// maxPool3 returns the maxima of the 3×3 windows of x [N,C,H,W] with the
// given stride and padding 0 or 1 (padding never wins; a NaN in a window
// wins), as F.max_pool2d(x, 3, stride, pad): Inception's pools.
func maxPool3(x *Tensor, stride, pad int) *Tensor {
	sh := x.shape
	h, w := sh[2], sh[3]
	oh, ow := (h+2*pad-3)/stride+1, (w+2*pad-3)/stride+1
	planes := sh[0] * sh[1]
	out := New(sh[0], sh[1], oh, ow)
	src, dst := x.data, out.data
	kernels.ParallelFor(planes, max(1, parallelGrain/max(1, h*w)), func(lo, hi int) {
		rows := make([]float32, h*ow) // maxima over three columns
		for p := lo; p < hi; p++ {
			in, o := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
			for y := range h {
				r, s := in[y*w:(y+1)*w], rows[y*ow:(y+1)*ow]
				for j := range ow {
					x0 := j*stride - pad
					s[j] = max3(r, x0, w, 1)
				}
			}
			for i := range oh {
				y0 := i*stride - pad
				oi := o[i*ow : (i+1)*ow]
				for j := range ow {
					oi[j] = max3(rows[j:], y0, h, ow)
				}
			}
		}
	})
	return out
}

// max3 returns the largest of v[k*step] for k in [i0, i0+3) ∩ [0, n); a NaN
// wins.
func max3(v []float32, i0, n, step int) float32 {
	lo, hi := max(i0, 0), min(i0+3, n)
	m := v[lo*step]
	for k := lo + 1; k < hi; k++ {
		if e := v[k*step]; e > m || e != e {
			m = e
		}
		if m != m {
			break
		}
	}
	return m
}

// ScatterAddPlanes adds each element of src [N,C,Ho,Wo] into the position
// idx names within the matching h×w plane of a zero [N,C,h,w] tensor: the
// gradient of MaxPool2d, given the indices MaxPool2dIndices returned (PyTorch's
// max_unpool2d, adding where windows overlap).
//
// It panics if idx does not have one entry per element of src.
func ScatterAddPlanes(src *Tensor, idx []int32, h, w int) *Tensor {
	if len(src.shape) != 4 || len(idx) != len(src.data) {
		panic(fmt.Sprintf("tensor: ScatterAddPlanes: source %v with %d indices", src.shape, len(idx)))
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

// GatherPlanes reads, for each entry of idx, the element it names within the
// matching h×w plane of x [N,C,h,w], giving [N,C,oh,ow]: the adjoint of
// ScatterAddPlanes.
//
// It panics if idx does not have N*C*oh*ow entries.
func GatherPlanes(x *Tensor, idx []int32, oh, ow int) *Tensor {
	if len(x.shape) != 4 || len(idx) != x.shape[0]*x.shape[1]*oh*ow {
		panic(fmt.Sprintf("tensor: GatherPlanes: input %v with %d indices for %dx%d", x.shape, len(idx), oh, ow))
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
