package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Non-finite values through a convolution: every path must give the NaN
// and infinity pattern of the convolution of the zero-padded input, each
// tap multiplied (0·NaN is NaN), as PyTorch's reference im2col convolution
// does; the gradients are its adjoints over the outputs that exist. These
// are the naive definitions, in float64.

// at returns x [N,C,H,W] at (b, c, y, x), 0 in the padding.
func padAt(x []float32, g ConvGeom, b, c, y, xx int) float64 {
	if y < 0 || y >= g.H || xx < 0 || xx >= g.W {
		return 0
	}
	return float64(x[((b*g.C+c)*g.H+y)*g.W+xx])
}

func paddedConv(g ConvGeom, n, o int, x, w []float32) []float32 {
	y := make([]float32, n*o*g.Ho*g.Wo)
	for b := range n {
		for oc := range o {
			for oy := range g.Ho {
				for ox := range g.Wo {
					var s float64
					for c := range g.C {
						for i := range g.KH {
							for j := range g.KW {
								s += padAt(x, g, b, c, oy*g.SH-g.PH+i*g.DH, ox*g.SW-g.PW+j*g.DW) * float64(w[((oc*g.C+c)*g.KH+i)*g.KW+j])
							}
						}
					}
					y[((b*o+oc)*g.Ho+oy)*g.Wo+ox] = float32(s)
				}
			}
		}
	}
	return y
}

func paddedInputGrad(g ConvGeom, n, o int, gy, w []float32) []float32 {
	dx := make([]float64, n*g.C*g.H*g.W)
	for b := range n {
		for oc := range o {
			for oy := range g.Ho {
				for ox := range g.Wo {
					v := float64(gy[((b*o+oc)*g.Ho+oy)*g.Wo+ox])
					for c := range g.C {
						for i := range g.KH {
							for j := range g.KW {
								iy, ix := oy*g.SH-g.PH+i*g.DH, ox*g.SW-g.PW+j*g.DW
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									dx[((b*g.C+c)*g.H+iy)*g.W+ix] += v * float64(w[((oc*g.C+c)*g.KH+i)*g.KW+j])
								}
							}
						}
					}
				}
			}
		}
	}
	out := make([]float32, len(dx))
	for i, v := range dx {
		out[i] = float32(v)
	}
	return out
}

func paddedWeightGrad(g ConvGeom, n, o int, x, gy []float32) []float32 {
	dw := make([]float32, o*g.C*g.KH*g.KW)
	for oc := range o {
		for c := range g.C {
			for i := range g.KH {
				for j := range g.KW {
					var s float64
					for b := range n {
						for oy := range g.Ho {
							for ox := range g.Wo {
								s += float64(gy[((b*o+oc)*g.Ho+oy)*g.Wo+ox]) * padAt(x, g, b, c, oy*g.SH-g.PH+i*g.DH, ox*g.SW-g.PW+j*g.DW)
							}
						}
					}
					dw[((oc*g.C+c)*g.KH+i)*g.KW+j] = float32(s)
				}
			}
		}
	}
	return dw
}

// nonFinite describes where got and want differ in being NaN or infinite,
// or returns "".
func nonFinite(got, want []float32) string {
	kind := func(v float32) string {
		switch {
		case math.IsNaN(float64(v)):
			return "NaN"
		case math.IsInf(float64(v), 0):
			return "Inf"
		}
		return "finite"
	}
	bad, first := 0, -1
	for i := range want {
		if kind(got[i]) != kind(want[i]) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d values differ, first [%d]: %s, want %s", bad, len(want), first, kind(got[first]), kind(want[first]))
}

// convPaths sets Tuning (and, for the direct kernels on a machine without
// their assembly, the plain-Go kernel) to force each path in turn.
var convPaths = []struct {
	name string
	set  func(t *ConvTuning)
}{
	{"direct", func(t *ConvTuning) {
		*t = ConvTuning{ImplicitMinHW: 1, ImplicitMinC: 1, Direct1x1MinHW: 1 << 30, Direct1x1MinC: 1 << 30, DirectMinN: 1, DirectMinC: 1, SmallKMax: 0}
	}},
	{"1x1", func(t *ConvTuning) {
		*t = ConvTuning{ImplicitMinHW: 1 << 30, Direct1x1MinHW: 1, Direct1x1MinC: 1, DirectMinN: 1 << 30, SmallKMax: 0}
	}},
	{"implicit", func(t *ConvTuning) {
		*t = ConvTuning{ImplicitMinHW: 1, ImplicitMinC: 1, Direct1x1MinHW: 1 << 30, DirectMinN: 1 << 30, SmallKMax: 0}
	}},
	{"per-image", func(t *ConvTuning) {
		*t = ConvTuning{ImplicitMinHW: 1 << 30, Direct1x1MinHW: 1 << 30, DirectMinN: 1 << 30, SmallKMax: 1 << 30}
	}},
	{"im2col", func(t *ConvTuning) {
		*t = ConvTuning{ImplicitMinHW: 1 << 30, Direct1x1MinHW: 1 << 30, DirectMinN: 1 << 30, SmallKMax: 0}
	}},
}

// TestConvNonFinite puts one NaN or infinity in the input, the filters or
// the output gradient, at the border and in the middle, and checks on every
// path that the same outputs become NaN or infinite as in the naive
// definitions above.
func TestConvNonFinite(t *testing.T) {
	defer func(tu ConvTuning, asm func(int) dconvKernel) { Tuning, dconvAsm = tu, asm }(Tuning, dconvAsm)
	if dconvAsm == nil {
		dconvAsm = dconvRef // the direct path on any machine, through its Go kernel
	}
	geoms := []struct {
		n, o int
		g    ConvGeom
	}{
		{16, 3, ConvGeom{C: 4, H: 8, W: 8, KH: 3, KW: 3, PH: 1, PW: 1}},
		{14, 5, ConvGeom{C: 16, H: 6, W: 5, KH: 3, KW: 3, PH: 1, PW: 1}},
		{3, 4, ConvGeom{C: 5, H: 9, W: 12, KH: 3, KW: 5, PH: 2, PW: 1}},
		{2, 6, ConvGeom{C: 32, H: 16, W: 16, KH: 1, KW: 1}},
		{2, 3, ConvGeom{C: 3, H: 9, W: 8, KH: 3, KW: 3, SH: 2, PH: 1, PW: 1}},
	}
	r := rand.New(rand.NewPCG(16, 4))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, gc := range geoms {
		g, n, o := gc.g, gc.n, gc.o
		g.SH, g.SW, g.DH, g.DW = max(g.SH, 1), max(g.SW, 1), 1, 1
		g.Ho, g.Wo = OutSize(g.H, g.KH, g.SH, g.PH, g.DH), OutSize(g.W, g.KW, g.SW, g.PW, g.DW)
		x, w, gy := randn(n*g.C*g.H*g.W), randn(o*g.C*g.KH*g.KW), randn(n*o*g.Ho*g.Wo)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
			for _, where := range []string{"x", "w", "gy"} {
				for _, pos := range []string{"corner", "middle"} {
					xs, ws, gys := append([]float32(nil), x...), append([]float32(nil), w...), append([]float32(nil), gy...)
					v := map[string][]float32{"x": xs, "w": ws, "gy": gys}[where]
					k := len(v) / 2
					if pos == "corner" {
						k = 0
					}
					v[k] = bad
					wantY, wantDX, wantDW := paddedConv(g, n, o, xs, ws), paddedInputGrad(g, n, o, gys, ws), paddedWeightGrad(g, n, o, xs, gys)
					for _, p := range convPaths {
						p.set(&Tuning)
						name := fmt.Sprintf("%s/%dx%v->%d/%v in %s at the %s", p.name, n, []int{g.C, g.H, g.W}, o, bad, where, pos)
						y := make([]float32, len(wantY))
						Conv2d(g, n, o, xs, ws, nil, y)
						assert.Empty(t, nonFinite(y, wantY), "%s: Conv2d", name)
						dx := make([]float32, len(wantDX))
						Conv2dInputGrad(g, n, o, gys, ws, dx)
						assert.Empty(t, nonFinite(dx, wantDX), "%s: Conv2dInputGrad", name)
						dw := make([]float32, len(wantDW))
						Conv2dWeightGrad(g, n, o, xs, gys, dw)
						assert.Empty(t, nonFinite(dw, wantDW), "%s: Conv2dWeightGrad", name)
					}
				}
			}
		}
	}
}

func TestFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		n, at int // length, and where to put the value (-1: nowhere)
		v     float32
		want  bool
	}{
		{0, -1, 0, true},
		{13, -1, 0, true},
		{13, 12, math.MaxFloat32, true},
		{13, 3, math.SmallestNonzeroFloat32, true},
		{13, 3, nan, false},
		{13, 7, inf, false},
		{13, 12, -inf, false}, // in the tail after the blocks of eight
		{8, 0, nan, false},
		{1, 0, -inf, false},
	} {
		v := make([]float32, c.n)
		for i := range v {
			v[i] = float32(i) - 6.5
		}
		if c.at >= 0 {
			v[c.at] = c.v
		}
		assert.Equal(t, c.want, finite(v), "finite(%d values, %v at %d)", c.n, c.v, c.at)
	}
}
