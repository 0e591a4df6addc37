package tensor

import (
	"fmt"
	"testing"

	"github.com/gantry-go/gantry/internal/kernels"
)

// convInputGradNaive and convWeightGradNaive are the textbook gradients of
// convNaive, accumulated in float64.
func convInputGradNaive(gy, w *Tensor, h, wd int, p ConvParams) *Tensor {
	p = p.norm("test")
	n, o, c := gy.shape[0], w.shape[0], w.shape[1]
	g := convGeom("test", []int{n, c, h, wd}, w.shape, p)
	acc := make([]float64, n*c*h*wd)
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			for y := 0; y < g.Ho; y++ {
				for x := 0; x < g.Wo; x++ {
					v := float64(gy.At(b, oc, y, x))
					for ci := 0; ci < c; ci++ {
						for i := 0; i < g.KH; i++ {
							for j := 0; j < g.KW; j++ {
								iy, ix := y*g.SH-g.PH+i*g.DH, x*g.SW-g.PW+j*g.DW
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									acc[((b*c+ci)*h+iy)*wd+ix] += v * float64(w.At(oc, ci, i, j))
								}
							}
						}
					}
				}
			}
		}
	}
	dx := New(n, c, h, wd)
	for i, v := range acc {
		dx.data[i] = float32(v)
	}
	return dx
}

func convWeightGradNaive(x, gy *Tensor, kh, kw int, p ConvParams) *Tensor {
	p = p.norm("test")
	n, c, o := x.shape[0], x.shape[1], gy.shape[1]
	g := convGeom("test", x.shape, []int{o, c, kh, kw}, p)
	dw := New(o, c, kh, kw)
	eachIndex(dw.shape, func(idx []int) {
		var s float64
		for b := 0; b < n; b++ {
			for y := 0; y < g.Ho; y++ {
				for xx := 0; xx < g.Wo; xx++ {
					iy, ix := y*g.SH-g.PH+idx[2]*g.DH, xx*g.SW-g.PW+idx[3]*g.DW
					if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
						s += float64(gy.At(b, idx[0], y, xx)) * float64(x.At(b, idx[1], iy, ix))
					}
				}
			}
		}
		dw.Set(float32(s), idx...)
	})
	return dw
}

// TestConv2dPaths checks the forward, input-gradient and weight-gradient
// convolutions against the naive ones on the direct kernels, the im2col and
// the implicit GEMM paths and (1×1) one GEMM per image: odd sizes, 1×1
// kernels, paddings other than "same", batches of 1, 17 (a partial block of
// 16 images) and many (several chunks), and 1 to 256 channels.
func TestConv2dPaths(t *testing.T) {
	type tc struct {
		x, w []int
		p    ConvParams
	}
	pad := func(h, w int) ConvParams { return ConvParams{Padding: [2]int{h, w}} }
	cases := []tc{
		{[]int{1, 1, 9, 9}, []int{1, 1, 3, 3}, pad(1, 1)},
		{[]int{3, 5, 11, 7}, []int{6, 5, 3, 3}, pad(1, 1)},
		{[]int{2, 7, 13, 10}, []int{3, 7, 3, 3}, pad(0, 0)},
		{[]int{2, 3, 9, 12}, []int{4, 3, 3, 5}, pad(2, 1)},
		{[]int{2, 4, 10, 9}, []int{5, 4, 3, 3}, pad(2, 2)}, // dgrad pad 0
		{[]int{2, 3, 9, 9}, []int{2, 3, 2, 2}, pad(1, 0)},  // even kernel
		{[]int{5, 17, 8, 8}, []int{9, 17, 1, 1}, pad(0, 0)},
		{[]int{3, 6, 2, 2}, []int{5, 6, 1, 1}, pad(0, 0)},
		{[]int{3, 33, 16, 17}, []int{7, 33, 1, 1}, pad(0, 0)},
		{[]int{2, 3, 9, 9}, []int{4, 3, 1, 1}, pad(1, 1)},
		{[]int{1, 256, 8, 8}, []int{16, 256, 3, 3}, pad(1, 1)},
		{[]int{2, 16, 8, 8}, []int{256, 16, 3, 3}, pad(1, 1)},
		{[]int{70, 2, 8, 8}, []int{3, 2, 3, 3}, pad(1, 1)},     // many images per chunk
		{[]int{4, 33, 32, 32}, []int{17, 33, 3, 3}, pad(1, 1)}, // several chunks
		{[]int{3, 1, 32, 32}, []int{16, 1, 3, 3}, pad(1, 1)},
		{[]int{17, 6, 5, 5}, []int{30, 6, 3, 3}, pad(1, 1)},
		{[]int{32, 40, 4, 4}, []int{3, 40, 3, 3}, pad(1, 1)},
		{[]int{18, 32, 6, 5}, []int{7, 32, 3, 3}, pad(1, 1)},
		{[]int{3, 16, 32, 32}, []int{1, 16, 3, 3}, pad(1, 1)},
		{[]int{2, 3, 9, 8}, []int{3, 3, 3, 3}, ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 1}}},
		{[]int{2, 3, 9, 8}, []int{3, 3, 3, 3}, ConvParams{Padding: [2]int{2, 1}, Dilation: [2]int{2, 1}}},
	}
	if testing.Short() {
		cases = cases[:len(cases)-4]
	}
	defer func(t kernels.ConvTuning) { kernels.Tuning = t }(kernels.Tuning)
	tu := &kernels.Tuning
	r := rng(11)
	// Each case runs through the direct kernels where they apply (on a
	// machine that has them), then through the GEMM paths with and
	// without their thresholds.
	for _, minHW := range []int{0, 1, 1 << 30} {
		tu.ImplicitMinHW, tu.ImplicitMinC, tu.Direct1x1MinHW, tu.Direct1x1MinC = max(minHW, 1), 1, max(minHW, 1), 1
		tu.DirectMinN, tu.DirectMinC = 1<<30, 1<<30
		tu.SmallKMax = 32
		if minHW == 1<<30 {
			tu.SmallKMax = 0 // the batched im2col GEMM
		}
		if minHW == 0 {
			tu.DirectMinN, tu.DirectMinC = 1, 1
		}
		for _, c := range cases {
			name := fmt.Sprintf("%v*%v/%+v/minHW=%d", c.x, c.w, c.p, minHW)
			x, w := RandN(r, c.x...), RandN(r, c.w...)
			y := Conv2d(x, w, c.p)
			if !assertClose(t, convNaive(x, w, c.p), y, tolConv, tolConv, "Conv2d(%s)", name) {
				continue
			}
			bias := RandN(r, c.w[0])
			yb := Conv2dBias(x, w, bias, c.p)
			assertClose(t, Add(y, bias.Reshape(1, -1, 1, 1)), yb, tolSum, tolSum, "Conv2dBias(%s) against Conv2d plus bias", name)
			gy := RandN(r, y.Shape()...)
			dx := Conv2dInputGrad(gy, w, c.x[2], c.x[3], c.p)
			assertClose(t, convInputGradNaive(gy, w, c.x[2], c.x[3], c.p), dx, tolConv, tolConv, "Conv2dInputGrad(%s)", name)
			dw := Conv2dWeightGrad(x, gy, c.w[2], c.w[3], c.p)
			assertClose(t, convWeightGradNaive(x, gy, c.w[2], c.w[3], c.p), dw, tolGrad, tolGrad, "Conv2dWeightGrad(%s)", name)
		}
	}
}

func maxDiff(a, b *Tensor) float32 {
	var m float32
	for i, v := range a.data {
		m = max(m, v-b.data[i], b.data[i]-v)
	}
	return m
}
