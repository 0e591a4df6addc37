package tensor

import (
	"math"
	"slices"

	"github.com/gantry-go/gantry/internal/bufpool"
	"github.com/gantry-go/gantry/internal/kernels"
)

// Standardize returns (x - mean) / sqrt(var + eps) with the mean and the
// biased variance taken over axes, as normalisation layers compute it,
// together with the mean and variance (reduced axes kept with size 1).
// Per-sample statistics over trailing axes (LayerNorm) and per-channel
// statistics of NCHW maps (BatchNorm) run as single fused passes.
//
// It panics if an axis is out of range or repeated.
func Standardize(x *Tensor, eps float32, axes ...int) (y, mean, variance *Tensor) {
	ax := x.normAxes("Standardize", axes)
	kept := reducedShape(x.shape, ax, true)
	trailing := ax[len(ax)-1] == len(x.shape)-1 && ax[len(ax)-1]-ax[0]+1 == len(ax)
	channels := len(x.shape) == 4 && slices.Equal(ax, []int{0, 2, 3})
	if !trailing && !channels {
		mean = Mean(x, true, ax...)
		d := Sub(x, mean)
		variance = Mean(Square(d), true, ax...)
		return Mul(d, Rsqrt(AddScalar(variance, eps))), mean, variance
	}
	y = &Tensor{shape: slices.Clone(x.shape), data: bufpool.Get(len(x.data))}
	mean, variance = New(kept...), New(kept...)
	if trailing {
		r := 1
		for _, a := range ax {
			r *= x.shape[a]
		}
		rows := len(x.data) / max(r, 1)
		kernels.ParallelFor(rows, max(1, parallelGrain/max(1, r)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				m, v := standardizeSegs(y.data, x.data, eps, [][2]int{{i * r, (i + 1) * r}})
				mean.data[i], variance.data[i] = m, v
			}
		})
		return y, mean, variance
	}
	n, c, hw := x.shape[0], x.shape[1], x.shape[2]*x.shape[3]
	kernels.ParallelFor(c, max(1, parallelGrain/max(1, n*hw)), func(lo, hi int) {
		segs := make([][2]int, n)
		for ch := lo; ch < hi; ch++ {
			for s := range segs {
				segs[s] = [2]int{(s*c + ch) * hw, (s*c + ch + 1) * hw}
			}
			mean.data[ch], variance.data[ch] = standardizeSegs(y.data, x.data, eps, segs)
		}
	})
	return y, mean, variance
}

// standardizeSegs standardises the elements of x in the given [lo, hi)
// segments together, writing them into y, and returns their mean and biased
// variance. Statistics accumulate in float64, in two passes.
func standardizeSegs(y, x []float32, eps float32, segs [][2]int) (mean, variance float32) {
	var s float64
	cnt := 0
	for _, sg := range segs {
		s += sum64(x[sg[0]:sg[1]])
		cnt += sg[1] - sg[0]
	}
	if cnt == 0 {
		return 0, 0
	}
	m := s / float64(cnt)
	var q float64
	for _, sg := range segs {
		for _, v := range x[sg[0]:sg[1]] {
			d := float64(v) - m
			q += d * d
		}
	}
	v := q / float64(cnt)
	inv := float32(1 / math.Sqrt(v+float64(eps)))
	mf := float32(m)
	for _, sg := range segs {
		dst := y[sg[0]:sg[1]]
		for i, xv := range x[sg[0]:sg[1]] {
			dst[i] = (xv - mf) * inv
		}
	}
	return mf, float32(v)
}

// StandardizeGrad returns the gradient of Standardize with respect to x,
// given the output gradient g, the output xhat and the variance Standardize
// returned: (g - mean(g) - xhat·mean(g·xhat)) / sqrt(var + eps), with the
// means over axes. Trailing axes and the channel statistics of NCHW maps run
// fused.
//
// It panics if g and xhat differ in shape or an axis is invalid.
func StandardizeGrad(g, xhat, variance *Tensor, eps float32, axes ...int) *Tensor {
	mustSameShape("StandardizeGrad", g, xhat)
	ax := g.normAxes("StandardizeGrad", axes)
	trailing := ax[len(ax)-1] == len(g.shape)-1 && ax[len(ax)-1]-ax[0]+1 == len(ax)
	channels := len(g.shape) == 4 && slices.Equal(ax, []int{0, 2, 3})
	inv := Rsqrt(AddScalar(variance, eps))
	if !trailing && !channels {
		c := Sub(Sub(g, Mean(g, true, ax...)), Mul(xhat, Mean(Mul(g, xhat), true, ax...)))
		return Mul(c, inv)
	}
	dx := &Tensor{shape: slices.Clone(g.shape), data: bufpool.Get(len(g.data))}
	if trailing {
		r := 1
		for _, a := range ax {
			r *= g.shape[a]
		}
		rows := len(g.data) / max(r, 1)
		kernels.ParallelFor(rows, max(1, parallelGrain/max(1, r)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				standardizeGradSegs(dx.data, g.data, xhat.data, inv.data[i], [][2]int{{i * r, (i + 1) * r}})
			}
		})
		return dx
	}
	n, c, hw := g.shape[0], g.shape[1], g.shape[2]*g.shape[3]
	kernels.ParallelFor(c, max(1, parallelGrain/max(1, n*hw)), func(lo, hi int) {
		segs := make([][2]int, n)
		for ch := lo; ch < hi; ch++ {
			for s := range segs {
				segs[s] = [2]int{(s*c + ch) * hw, (s*c + ch + 1) * hw}
			}
			standardizeGradSegs(dx.data, g.data, xhat.data, inv.data[ch], segs)
		}
	})
	return dx
}

func standardizeGradSegs(dx, g, xhat []float32, inv float32, segs [][2]int) {
	var sg, sgx float64
	cnt := 0
	for _, s := range segs {
		xs := xhat[s[0]:s[1]]
		for i, v := range g[s[0]:s[1]] {
			sg += float64(v)
			sgx += float64(v) * float64(xs[i])
		}
		cnt += s[1] - s[0]
	}
	if cnt == 0 {
		return
	}
	mg, mgx := float32(sg/float64(cnt)), float32(sgx/float64(cnt))
	for _, s := range segs {
		d, xs := dx[s[0]:s[1]], xhat[s[0]:s[1]]
		for i, v := range g[s[0]:s[1]] {
			d[i] = (v - mg - xs[i]*mgx) * inv
		}
	}
}
