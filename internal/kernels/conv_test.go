package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIm2colCol2im checks Im2col against its definition and Col2im as its
// adjoint, over strides, paddings and dilations that leave whole rows and
// columns outside the image, with guard bands around the written window.
func TestIm2colCol2im(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 300 {
		g := ConvGeom{C: 1 + r.IntN(3), H: 1 + r.IntN(7), W: 1 + r.IntN(7), KH: 1 + r.IntN(4), KW: 1 + r.IntN(4),
			SH: 1 + r.IntN(3), SW: 1 + r.IntN(3), PH: r.IntN(4), PW: r.IntN(4), DH: 1 + r.IntN(2), DW: 1 + r.IntN(2)}
		switch trial % 3 {
		case 1: // stride 1, output as wide as the input: the shifted-plane path
			g.SH, g.SW, g.DH, g.DW = 1, 1, 1, 1
			g.KW = 1 + 2*r.IntN(3)
			g.PW = g.KW / 2
		case 2:
			if trial%4 == 0 { // 1×1, stride 1, unpadded: the plane-copy path
				g.KH, g.KW, g.SH, g.SW, g.PH, g.PW = 1, 1, 1, 1, 0, 0
			}
		}
		g.Ho = OutSize(g.H, g.KH, g.SH, g.PH, g.DH)
		g.Wo = OutSize(g.W, g.KW, g.SW, g.PW, g.DW)
		if g.Ho <= 0 || g.Wo <= 0 {
			continue
		}
		hw := g.Ho * g.Wo
		col0, ld := r.IntN(3), 0
		ld = col0 + hw + r.IntN(3)
		rows := g.C * g.KH * g.KW
		src := make([]float32, g.C*g.H*g.W)
		for i := range src {
			src[i] = float32(r.NormFloat64())
		}
		const guard = float32(-7777)
		dst := make([]float32, rows*ld)
		for i := range dst {
			dst[i] = guard
		}
		Im2col(g, src, dst, ld, col0)
		for row := range rows {
			c, i, j := row/(g.KH*g.KW), row/g.KW%g.KH, row%g.KW
			for p := range ld {
				got := dst[row*ld+p]
				if p < col0 || p >= col0+hw {
					require.Equal(t, guard, got, "trial %d %+v: Im2col wrote outside its window at row %d col %d", trial, g, row, p)
					continue
				}
				y, x := (p-col0)/g.Wo, (p-col0)%g.Wo
				iy, ix := y*g.SH-g.PH+i*g.DH, x*g.SW-g.PW+j*g.DW
				var want float32
				if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
					want = src[(c*g.H+iy)*g.W+ix]
				}
				require.Equal(t, want, got, "trial %d %+v: Im2col[%d,%d]", trial, g, row, p)
			}
		}
		// Adjoint: <Im2col(x), v> == <x, Col2im(v)>.
		v := make([]float32, rows*ld)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		back := make([]float32, len(src))
		Col2im(g, v, ld, col0, back)
		var lhs, rhs float64
		for row := range rows {
			for p := col0; p < col0+hw; p++ {
				lhs += float64(dst[row*ld+p]) * float64(v[row*ld+p])
			}
		}
		for i := range src {
			rhs += float64(src[i]) * float64(back[i])
		}
		require.InDelta(t, lhs, rhs, tolConv, "trial %d %+v: <Im2col x, v> against <x, Col2im v>", trial, g)
	}
}
