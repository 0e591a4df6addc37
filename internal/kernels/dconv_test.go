package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveTaps calls fn for every product of the stride-1 convolution of x
// [N,C,H,W], zero-padded by ph, pw, with w [O,C,KH,KW]: the indices of the
// output pixel, the weight and the input pixel it multiplies.
func naiveTaps(n, c, h, wd, o, kh, kw, ph, pw int, fn func(yi, wi, xi int)) {
	ho, wo := h+2*ph-kh+1, wd+2*pw-kw+1
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			for yy := 0; yy < ho; yy++ {
				for xx := 0; xx < wo; xx++ {
					for ch := 0; ch < c; ch++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy, ix := yy+i-ph, xx+j-pw
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									fn(((b*o+oc)*ho+yy)*wo+xx, ((oc*c+ch)*kh+i)*kw+j, ((b*c+ch)*h+iy)*wd+ix)
								}
							}
						}
					}
				}
			}
		}
	}
}

// toFloat32 rounds float64 sums to float32.
func toFloat32(acc []float64) []float32 {
	out := make([]float32, len(acc))
	for i, v := range acc {
		out[i] = float32(v)
	}
	return out
}

// naiveConv is the stride-1 convolution of x [N,C,H,W], zero-padded by ph,
// pw, with w [O,C,KH,KW], summed in float64.
func naiveConv(x []float32, n, c, h, wd int, w []float32, o, kh, kw, ph, pw int) []float32 {
	acc := make([]float64, n*o*(h+2*ph-kh+1)*(wd+2*pw-kw+1))
	naiveTaps(n, c, h, wd, o, kh, kw, ph, pw, func(yi, wi, xi int) { acc[yi] += float64(w[wi]) * float64(x[xi]) })
	return toFloat32(acc)
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestBlocksRoundTrip checks ToBlocks against its definition (with zero
// images past N) and FromBlocks as its inverse, on sizes with and without
// whole 16×16 blocks, with guard bands.
func TestBlocksRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct{ n, c, hw int }{{16, 3, 16}, {32, 5, 64}, {17, 2, 16}, {7, 3, 9}, {48, 1, 4}, {16, 4, 33}, {1, 1, 1}} {
		nb := (tc.n + 15) / 16
		x := randSlice(r, tc.n*tc.c*tc.hw)
		const guard = float32(-7777)
		dst := make([]float32, nb*tc.hw*tc.c*16+5)
		for i := range dst {
			dst[i] = guard
		}
		ToBlocks(x, tc.n, tc.c, tc.hw, dst)
		for b := 0; b < nb; b++ {
			for q := 0; q < tc.hw; q++ {
				for ch := 0; ch < tc.c; ch++ {
					for l := 0; l < 16; l++ {
						want := float32(0)
						if i := b*16 + l; i < tc.n {
							want = x[(i*tc.c+ch)*tc.hw+q]
						}
						require.Equal(t, want, dst[((b*tc.hw+q)*tc.c+ch)*16+l], "%+v: block %d pixel %d channel %d lane %d", tc, b, q, ch, l)
					}
				}
			}
		}
		for _, v := range dst[nb*tc.hw*tc.c*16:] {
			require.Equal(t, guard, v, "%+v: ToBlocks wrote past its output", tc)
		}
		back := make([]float32, len(x)+5)
		for i := range back {
			back[i] = guard
		}
		FromBlocks(dst, tc.n, tc.c, tc.hw, back)
		require.Equal(t, x, back[:len(x)], "%+v: FromBlocks(ToBlocks(x))", tc)
		for _, v := range back[len(x):] {
			require.Equal(t, guard, v, "%+v: FromBlocks wrote past its output", tc)
		}
	}
}

// TestDirectConv checks the direct convolution, with the machine's kernels
// and with the plain-Go reference, against the naive one, over channel
// counts that exercise every kernel width, odd sizes, and paddings from 0
// to kernel-1.
func TestDirectConv(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	type tc struct{ n, c, h, w, o, kh, kw, ph, pw int }
	cases := []tc{
		{16, 3, 4, 4, 5, 3, 3, 1, 1}, {16, 8, 8, 8, 16, 3, 3, 1, 1}, {32, 16, 5, 7, 28, 3, 3, 1, 1},
		{17, 4, 6, 6, 29, 3, 3, 2, 0}, {16, 1, 7, 3, 1, 1, 1, 0, 0}, {20, 7, 2, 2, 64, 3, 3, 1, 1},
		{16, 9, 5, 5, 30, 5, 5, 2, 2}, {16, 2, 3, 3, 57, 2, 2, 1, 0}, {5, 3, 4, 4, 33, 3, 1, 1, 0},
		{16, 5, 3, 33, 6, 3, 3, 1, 1}, {20, 4, 2, 16, 3, 3, 3, 1, 1}, // whole rows of 16 pixels
		{16, 1, 6, 6, 20, 3, 3, 1, 1}, {32, 1, 5, 4, 29, 3, 3, 1, 1}, // one channel: a tap per step
	}
	for o := 1; o <= dconvMaxRows; o++ {
		cases = append(cases, tc{16, 3, 3, 3, o, 3, 3, 1, 1})
	}
	kernelSets := map[string]func(int) dconvKernel{"ref": dconvRef}
	if dconvAsm != nil {
		kernelSets["asm"] = dconvAsm
	}
	for name, set := range kernelSets {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/%+v", name, tc), func(t *testing.T) {
				x := randSlice(r, tc.n*tc.c*tc.h*tc.w)
				w := randSlice(r, tc.o*tc.c*tc.kh*tc.kw)
				want := naiveConv(x, tc.n, tc.c, tc.h, tc.w, w, tc.o, tc.kh, tc.kw, tc.ph, tc.pw)
				// The same filters as the transposed convolution of a
				// bank [C,O,KH,KW] flipped in space.
				wtr := make([]float32, len(w))
				for oc := 0; oc < tc.o; oc++ {
					for ch := 0; ch < tc.c; ch++ {
						for i := 0; i < tc.kh; i++ {
							for j := 0; j < tc.kw; j++ {
								wtr[((ch*tc.o+oc)*tc.kh+tc.kh-1-i)*tc.kw+tc.kw-1-j] = w[((oc*tc.c+ch)*tc.kh+i)*tc.kw+j]
							}
						}
					}
				}
				for _, transposed := range []bool{false, true} {
					filters := w
					if transposed {
						filters = wtr
					}
					d := NewDirectConv(tc.c, tc.h, tc.w, tc.o, tc.kh, tc.kw, tc.ph, tc.pw, filters, transposed)
					ho, wo := d.OutSize()
					nb := (tc.n + 15) / 16
					xb := make([]float32, nb*tc.h*tc.w*tc.c*16)
					ToBlocks(x, tc.n, tc.c, tc.h*tc.w, xb)
					yb := make([]float32, nb*ho*wo*tc.o*16)
					for i := range yb {
						yb[i] = float32(math.NaN())
					}
					d.run(xb, nb, yb, nil, 0, nil, set)
					got := make([]float32, tc.n*tc.o*ho*wo)
					FromBlocks(yb, tc.n, tc.o, ho*wo, got)
					// And straight to NCHW.
					direct := make([]float32, len(got))
					d.run(xb, nb, nil, direct, tc.n, nil, set)
					require.Empty(t, closeTo(direct, got, 0), "transposed=%v: NCHW y against via blocks", transposed)
					// With a bias, through blocks and straight.
					bias := randSlice(r, tc.o)
					for _, straight := range []bool{false, true} {
						withBias := make([]float32, len(got))
						if straight {
							d.run(xb, nb, nil, withBias, tc.n, bias, set)
						} else {
							d.run(xb, nb, yb, nil, 0, bias, set)
							FromBlocks(yb, tc.n, tc.o, ho*wo, withBias)
						}
						plus := make([]float32, len(got))
						for i := range got {
							plus[i] = got[i] + bias[i/(ho*wo)%tc.o]
						}
						require.Empty(t, closeTo(withBias, plus, tolBias), "transposed=%v straight=%v: y with bias", transposed, straight)
					}
					require.Empty(t, closeTo(got, want, tolConv), "transposed=%v: y", transposed)
				}
			})
		}
	}
}

// BenchmarkDirectConv times DirectConv.Run on blocked data (no layout
// changes) for 3×3 convolutions with padding 1, N×C×H×W->O.
func BenchmarkDirectConv(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, s := range []struct{ n, c, hw, o int }{
		{64, 128, 16, 128}, {64, 64, 32, 64}, {64, 32, 64, 32}, {64, 128, 4, 128}, {64, 128, 8, 128},
		{64, 64, 8, 64}, {64, 32, 32, 32}, {64, 32, 16, 32}, {64, 16, 32, 16}, {64, 256, 4, 256}, {16, 64, 8, 64},
	} {
		b.Run(fmt.Sprintf("%dx%dx%dx%d->%d", s.n, s.c, s.hw, s.hw, s.o), func(b *testing.B) {
			w := randSlice(r, s.o*s.c*9)
			d := NewDirectConv(s.c, s.hw, s.hw, s.o, 3, 3, 1, 1, w, false)
			nb := s.n / 16
			xb := randSlice(r, nb*s.hw*s.hw*s.c*16)
			yb := make([]float32, nb*s.hw*s.hw*s.o*16)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Run(xb, nb, yb)
			}
			flops := 2 * float64(s.n*s.o*s.hw*s.hw*s.c*9)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkToBlocks times the layout change of N×C×H×W images into blocks
// and back.
func BenchmarkToBlocks(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, s := range []struct{ n, c, hw int }{{64, 32, 1024}, {64, 128, 64}, {64, 128, 16}, {64, 16, 1024}, {64, 256, 4}} {
		x := randSlice(r, s.n*s.c*s.hw)
		xb := make([]float32, len(x))
		b.Run(fmt.Sprintf("to/%dx%dx%d", s.n, s.c, s.hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ToBlocks(x, s.n, s.c, s.hw, xb)
			}
			b.ReportMetric(float64(8*len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("from/%dx%dx%d", s.n, s.c, s.hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				FromBlocks(xb, s.n, s.c, s.hw, x)
			}
			b.ReportMetric(float64(8*len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// naiveConvWeightGrad is the weight gradient of naiveConv, in float64.
func naiveConvWeightGrad(x []float32, n, c, h, wd int, gy []float32, o, kh, kw, ph, pw int) []float32 {
	acc := make([]float64, o*c*kh*kw)
	naiveTaps(n, c, h, wd, o, kh, kw, ph, pw, func(yi, wi, xi int) { acc[wi] += float64(gy[yi]) * float64(x[xi]) })
	return toFloat32(acc)
}

// TestDirectConvWeightGrad checks the direct weight gradient, with the
// machine's kernels and the plain-Go ones, against the naive one, over
// tile widths of 16, 32 and 64 channels, every row count of each, partial
// blocks of images, and chunks of rows.
func TestDirectConvWeightGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	type tc struct{ n, c, h, w, o, kh, kw, ph, pw int }
	cases := []tc{
		{16, 16, 4, 4, 5, 3, 3, 1, 1}, {32, 64, 8, 8, 13, 3, 3, 1, 1}, {17, 32, 5, 7, 29, 3, 3, 1, 1},
		{16, 48, 6, 6, 7, 3, 3, 2, 0}, {20, 16, 3, 3, 64, 1, 1, 0, 0}, {16, 128, 2, 2, 3, 3, 3, 1, 1},
		{16, 16, 5, 5, 30, 5, 5, 2, 2}, {5, 32, 4, 4, 33, 2, 2, 1, 0}, {16, 16, 40, 40, 2, 3, 3, 1, 1},
	}
	for _, nv := range []int{1, 2, 4} {
		for m := 1; m <= dconvWMaxRows(nv); m++ {
			cases = append(cases, tc{16, 16 * nv, 3, 3, m, 3, 3, 1, 1})
		}
	}
	sets := map[string]func(m, nv int) dconvWKernel{"ref": dconvWRef}
	if dconvWAsm != nil {
		sets["asm"] = dconvWAsm
	}
	for name, set := range sets {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/%+v", name, tc), func(t *testing.T) {
				d := NewDirectConvWeightGrad(tc.c, tc.h, tc.w, tc.o, tc.kh, tc.kw, tc.ph, tc.pw)
				ho, wo := tc.h+2*tc.ph-tc.kh+1, tc.w+2*tc.pw-tc.kw+1
				x := randSlice(r, tc.n*tc.c*tc.h*tc.w)
				gy := randSlice(r, tc.n*tc.o*ho*wo)
				want := naiveConvWeightGrad(x, tc.n, tc.c, tc.h, tc.w, gy, tc.o, tc.kh, tc.kw, tc.ph, tc.pw)
				nb := (tc.n + 15) / 16
				xt := make([]float32, nb*tc.h*tc.w*16*tc.c)
				gt := make([]float32, nb*ho*wo*16*tc.o)
				ToInterleaved(x, tc.n, tc.c, tc.h*tc.w, xt)
				ToInterleaved(gy, tc.n, tc.o, ho*wo, gt)
				got := make([]float32, len(want))
				for i := range got {
					got[i] = float32(math.NaN())
				}
				d.run(xt, gt, nb, got, set)
				require.Empty(t, closeTo(got, want, tolWGrad), "dw")
			})
		}
	}
}

// TestToInterleaved checks ToInterleaved against its definition.
func TestToInterleaved(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, tc := range []struct{ n, c, hw int }{{16, 16, 16}, {32, 48, 64}, {17, 5, 16}, {7, 3, 9}, {16, 32, 4}} {
		nb := (tc.n + 15) / 16
		x := randSlice(r, tc.n*tc.c*tc.hw)
		dst := make([]float32, nb*tc.hw*16*tc.c)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		ToInterleaved(x, tc.n, tc.c, tc.hw, dst)
		for b := 0; b < nb; b++ {
			for q := 0; q < tc.hw; q++ {
				for l := 0; l < 16; l++ {
					for ch := 0; ch < tc.c; ch++ {
						want := float32(0)
						if i := b*16 + l; i < tc.n {
							want = x[(i*tc.c+ch)*tc.hw+q]
						}
						require.Equal(t, want, dst[((b*tc.hw+q)*16+l)*tc.c+ch], "%+v: block %d pixel %d lane %d channel %d", tc, b, q, l, ch)
					}
				}
			}
		}
	}
}

// BenchmarkDirectConvWeightGrad times DirectConvWeightGrad.Run on
// interleaved data for 3×3 convolutions with padding 1, N×C×H×W->O.
func BenchmarkDirectConvWeightGrad(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, s := range []struct{ n, c, hw, o int }{
		{64, 128, 16, 128}, {64, 64, 32, 64}, {64, 32, 64, 32}, {64, 128, 4, 128}, {64, 128, 8, 128},
		{64, 64, 8, 64}, {64, 32, 32, 32}, {64, 32, 16, 32}, {64, 16, 32, 16}, {64, 256, 4, 256}, {16, 64, 8, 64},
	} {
		b.Run(fmt.Sprintf("%dx%dx%dx%d->%d", s.n, s.c, s.hw, s.hw, s.o), func(b *testing.B) {
			d := NewDirectConvWeightGrad(s.c, s.hw, s.hw, s.o, 3, 3, 1, 1)
			nb := s.n / 16
			xt := randSlice(r, nb*s.hw*s.hw*s.c*16)
			gt := randSlice(r, nb*s.hw*s.hw*s.o*16)
			dw := make([]float32, s.o*s.c*9)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Run(xt, gt, nb, dw)
			}
			flops := 2 * float64(s.n*s.o*s.hw*s.hw*s.c*9)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkNewDirectConv times planning (packing the weights of) a 3×3
// convolution of 256 channels to 256, plain and transposed.
func BenchmarkNewDirectConv(b *testing.B) {
	w := randSlice(rand.New(rand.NewPCG(10, 10)), 256*256*9)
	for _, tr := range []bool{false, true} {
		b.Run(fmt.Sprintf("transposed=%v", tr), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				NewDirectConv(256, 4, 4, 256, 3, 3, 1, 1, w, tr)
			}
		})
	}
}

// BenchmarkToInterleaved times the layout change of the weight gradient.
func BenchmarkToInterleaved(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, s := range []struct{ n, c, hw int }{{64, 32, 1024}, {64, 128, 64}, {64, 128, 16}, {64, 256, 4}} {
		x := randSlice(r, s.n*s.c*s.hw)
		xt := make([]float32, len(x))
		b.Run(fmt.Sprintf("%dx%dx%d", s.n, s.c, s.hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ToInterleaved(x, s.n, s.c, s.hw, xt)
			}
			b.ReportMetric(float64(8*len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// TestDirectConvWeightsChanged checks that a plan made after the filters
// were changed in place (as an optimizer does) uses the new filters, not
// packed weights cached from the old ones, and that equal filters in
// another slice give the same result.
func TestDirectConvWeightsChanged(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	const n, c, h, w, o = 16, 8, 5, 5, 40
	x := randSlice(r, n*c*h*w)
	wt := randSlice(r, o*c*9)
	xb := make([]float32, h*w*c*16)
	ToBlocks(x, n, c, h*w, xb)
	run := func(filters []float32) []float32 {
		yb := make([]float32, h*w*o*16)
		NewDirectConv(c, h, w, o, 3, 3, 1, 1, filters, false).Run(xb, 1, yb)
		y := make([]float32, n*o*h*w)
		FromBlocks(yb, n, o, h*w, y)
		return y
	}
	check := func(step string, got, want []float32) {
		t.Helper()
		require.Empty(t, closeTo(got, want, tolConv), "%s: y", step)
	}
	check("first", run(wt), naiveConv(x, n, c, h, w, wt, o, 3, 3, 1, 1))
	check("again", run(wt), naiveConv(x, n, c, h, w, wt, o, 3, 3, 1, 1))
	wt[len(wt)-1] += 1 // one weight of the last tile
	check("changed", run(wt), naiveConv(x, n, c, h, w, wt, o, 3, 3, 1, 1))
	other := append([]float32(nil), wt...)
	check("copy", run(other), naiveConv(x, n, c, h, w, wt, o, 3, 3, 1, 1))
}
