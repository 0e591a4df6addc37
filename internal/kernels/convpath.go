package kernels

// The choice of a convolution's algorithm, and the GEMM formulations. Conv2d,
// Conv2dInputGrad and Conv2dWeightGrad take a checked geometry and raw NCHW
// slices and pick, by shape and machine:
//
//   - the direct kernels (dconv.go): stride 1, undilated, at least 16 images
//     (Tuning.DirectMinN) with at least a quarter of the last block of 16 used;
//   - one GEMM per image on the images as they lie: 1×1, stride-1, unpadded
//     convolutions of maps of 16×16 and up (Tuning.Direct1x1MinHW);
//   - the implicit GEMM: stride 1, undilated, maps of 8×8 and up, no im2col
//     at all (see below);
//   - one im2col and GEMM per image straight into the output, for a tiny
//     reduction (an image input layer, Tuning.SmallKMax);
//   - im2col over chunks of images and one GEMM per chunk, for the rest.
//
// Tuning holds the thresholds; tests change it to force every path.
//
// NaN and infinities come out the same on every path: as in the convolution
// of the zero-padded input with every tap multiplied, which is what im2col
// computes (and PyTorch's reference convolution). A NaN or infinite input
// pixel makes NaN or infinite every output whose window holds it; a
// non-finite weight, every output of its filter, padding included (0·NaN is
// NaN); the gradients are the adjoints over the outputs that exist. The
// direct kernels skip the taps in the padding and the implicit GEMM works on
// padded grids, which differ from this only when a value is not finite, so
// those paths are taken only when the filters are finite (a check of the
// small weight tensor), and a weight gradient they return with a value that
// is not finite is computed again by im2col.

// ConvTuning holds the thresholds that choose a convolution's path.
type ConvTuning struct {
	// ImplicitMinHW is the smallest output size (Ho*Wo) at which a
	// convolution takes the implicit GEMM; below it the padding wastes more
	// than im2col costs. It needs at least ImplicitMinC input channels: the
	// GEMMs read B in blocks of C rows, and with one input channel im2col
	// is 1.5x faster (for the input gradient, C is the rows of its GEMM, a
	// thin 1-row product). 1×1 convolutions keep im2col, which is then a
	// plain copy.
	ImplicitMinHW, ImplicitMinC int
	// Direct1x1MinHW is the smallest image (H*W), and Direct1x1MinC the
	// fewest input channels, with which a 1×1, stride-1, unpadded
	// convolution runs as one GEMM per image on the images as they lie
	// ([C, H*W] each), with no copies at all: on the paper's shortcuts,
	// 1.4-2.5x faster than im2col at 16x16 and 32x32, but 0.85x with 16
	// channels, and slower on small images.
	Direct1x1MinHW, Direct1x1MinC int
	// DirectMinN is the smallest batch that takes the direct convolution,
	// whose kernels compute 16 images at once; DirectMinC the fewest input
	// channels it reads (with one, every tap costs a loop for one vector:
	// the forward of the critic's 1-channel input layer is 1.3x faster
	// through im2col).
	DirectMinN, DirectMinC int
	// SmallKMax is the largest reduction (C*KH*KW) for which the forward
	// GEMM path runs one GEMM per image: with K that small, writing the
	// output twice (batched, then scattered) cost more than the products.
	SmallKMax int
}

// Tuning is the thresholds in use.
var Tuning = ConvTuning{
	ImplicitMinHW: 64, ImplicitMinC: 4,
	Direct1x1MinHW: 256, Direct1x1MinC: 32,
	DirectMinN: 16, DirectMinC: 4,
	SmallKMax: 32,
}

// elemGrain is the number of elements a parallel range of an elementwise
// pass (the bias) should hold at least.
const elemGrain = 1 << 15

// Conv2d sets y [N,O,Ho,Wo] to the cross-correlation g of x [N,C,H,W] with
// filters w [O,C,KH,KW], plus bias [O] when it is not nil. The geometry
// must have been checked (see OutSize); y must be zero.
func Conv2d(g ConvGeom, n, o int, x, w, bias, y []float32) {
	if n == 0 {
		return
	}
	if useDirect(g, n, g.C) && finite(w) {
		d := NewDirectConv(g.C, g.H, g.W, o, g.KH, g.KW, g.PH, g.PW, w, false)
		convDirect(d, x, n, g.C, g.H*g.W, o, g.Ho*g.Wo, y, bias)
		return
	}
	conv2dGemm(g, n, o, x, w, y)
	if bias != nil {
		hw := g.Ho * g.Wo
		ParallelFor(n*o, max(1, elemGrain/max(1, hw)), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				v := bias[t%o]
				for i := range y[t*hw : (t+1)*hw] {
					y[t*hw+i] += v
				}
			}
		})
	}
}

// Conv2dInputGrad sets dx [N,C,H,W] to the gradient of the convolution g
// with respect to its input, given the output gradient gy [N,O,Ho,Wo] and
// the filters w [O,C,KH,KW]: the transposed convolution of gy with w. dx
// must be zero.
func Conv2dInputGrad(g ConvGeom, n, o int, gy, w, dx []float32) {
	if n == 0 {
		return
	}
	if useDirect1x1(g) {
		hw := g.H * g.W
		ParallelFor(n, imageGrain(o*g.C*g.H*g.W), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				Sgemm(true, false, g.C, hw, o, 1, w, g.C, gy[i*o*hw:], hw, 0, dx[i*g.C*hw:], hw)
			}
		})
		return
	}
	// Only with finite filters: see "NaN and infinities" above.
	if useDirect(g, n, o) && finite(w) {
		// The transposed convolution of a stride-1 one is a convolution
		// of gy, padded by k-1-p, with the flipped filters.
		kh, kw, c := g.KH, g.KW, g.C
		d := NewDirectConv(o, g.Ho, g.Wo, c, kh, kw, kh-1-g.PH, kw-1-g.PW, w, true)
		convDirect(d, gy, n, o, g.Ho*g.Wo, c, g.H*g.W, dx, nil)
		return
	}
	if useImplicit(g) && g.C >= Tuning.ImplicitMinC && finite(w) {
		// The transposed convolution of a stride-1 one is a convolution
		// of gy, padded by k-1-p, with the flipped filters.
		convImplicit(gy, n, o, g.Ho, g.Wo, reorderTaps(w, o, g.C, g.KH, g.KW, true), g.C, g.KH, g.KW, g.KH-1-g.PH, g.KW-1-g.PW, dx)
		return
	}
	l := newLowered(g, n, o)
	defer l.release()
	l.chunks(func(s, b, ld int) {
		Sgemm(true, false, l.k, ld, o, 1, w, l.k, l.gather(gy, s, b), ld, 0, *l.col, ld)
		col := *l.col
		ParallelFor(b, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				Col2im(g, col, ld, i*l.hw, dx[(s+i)*l.in:(s+i+1)*l.in])
			}
		})
	})
}

// Conv2dWeightGrad sets dw [O,C,KH,KW] to the gradient of the convolution g
// with respect to its filters, given the input x [N,C,H,W] and the output
// gradient gy [N,O,Ho,Wo].
func Conv2dWeightGrad(g ConvGeom, n, o int, x, gy, dw []float32) {
	if n == 0 {
		return
	}
	if useDirect1x1(g) {
		// Images in up to four groups, each summed in order into its
		// own gradient by one worker; the groups are added in order, so
		// the result does not depend on the worker count.
		hw := g.H * g.W
		groups := min(n, 4)
		accs := make([]*[]float32, groups)
		ParallelFor(groups, imageGrain(o*g.C*g.H*g.W*n/groups), func(lo, hi int) {
			for gi := lo; gi < hi; gi++ {
				accs[gi] = GetScratch(o * g.C)
				for i := gi * n / groups; i < (gi+1)*n/groups; i++ {
					Sgemm(false, true, o, g.C, hw, 1, gy[i*o*hw:], hw, x[i*g.C*hw:], hw, float32(min(i-gi*n/groups, 1)), *accs[gi], g.C)
				}
			}
		})
		copy(dw, *accs[0])
		for _, a := range accs[1:] {
			for i, v := range *a {
				dw[i] += v
			}
		}
		for _, a := range accs {
			PutScratch(a)
		}
		return
	}
	if useDirect(g, n, g.C) && g.C%16 == 0 {
		nb := (n + 15) / 16
		xt := GetScratch(nb * g.H * g.W * 16 * g.C)
		gt := GetScratch(nb * g.Ho * g.Wo * 16 * o)
		defer PutScratch(xt)
		defer PutScratch(gt)
		ToInterleaved(x, n, g.C, g.H*g.W, *xt)
		ToInterleaved(gy, n, o, g.Ho*g.Wo, *gt)
		NewDirectConvWeightGrad(g.C, g.H, g.W, o, g.KH, g.KW, g.PH, g.PW).Run(*xt, *gt, nb, dw)
		if finite(dw) { // else im2col below: see "NaN and infinities" above
			return
		}
	} else if useImplicit(g) && g.C >= Tuning.ImplicitMinC {
		convImplicitWeightGrad(x, gy, n, g, o, dw)
		if finite(dw) {
			return
		}
	}
	l := newLowered(g, n, o)
	defer l.release()
	l.chunks(func(s, b, ld int) {
		l.im2col(x, s, b)
		beta := float32(1)
		if s == 0 {
			beta = 0
		}
		Sgemm(false, true, o, l.k, ld, 1, l.gather(gy, s, b), ld, *l.col, ld, beta, dw, l.k)
	})
}

// conv2dGemm sets y [N,O,Ho,Wo] to the convolution g of x [N,C,H,W] with
// filters w [O,C,KH,KW] through the GEMM formulations.
func conv2dGemm(g ConvGeom, n, o int, x, w, y []float32) {
	if useDirect1x1(g) {
		hw := g.H * g.W
		// Images to workers: each GEMM is too small to split well.
		ParallelFor(n, imageGrain(o*g.C*g.H*g.W), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				Sgemm(false, false, o, hw, g.C, 1, w, g.C, x[i*g.C*hw:], hw, 0, y[i*o*hw:], hw)
			}
		})
		return
	}
	if useImplicit(g) && g.C >= Tuning.ImplicitMinC {
		convImplicit(x, n, g.C, g.H, g.W, reorderTaps(w, o, g.C, g.KH, g.KW, false), o, g.KH, g.KW, g.PH, g.PW, y)
		return
	}
	if k, hw := g.C*g.KH*g.KW, g.Ho*g.Wo; k <= Tuning.SmallKMax && n > 1 {
		// Few channels (an image input layer): a GEMM per image straight
		// into y, with the images split between workers, rather than
		// a batched GEMM whose output must be scattered to y after.
		in := g.C * g.H * g.W
		ParallelFor(n, imageGrain(o*k*hw), func(lo, hi int) {
			col := GetScratch(k * hw)
			defer PutScratch(col)
			for i := lo; i < hi; i++ {
				Im2col(g, x[i*in:(i+1)*in], *col, hw, 0)
				Sgemm(false, false, o, hw, k, 1, w, k, *col, hw, 0, y[i*o*hw:(i+1)*o*hw], hw)
			}
		})
		return
	}
	l := newLowered(g, n, o)
	defer l.release()
	l.chunks(func(s, b, ld int) {
		l.im2col(x, s, b)
		if b == 1 {
			Sgemm(false, false, o, ld, l.k, 1, w, l.k, *l.col, ld, 0, y[s*o*l.hw:(s+1)*o*l.hw], ld)
			return
		}
		Sgemm(false, false, o, ld, l.k, 1, w, l.k, *l.col, ld, 0, *l.scratch, ld)
		l.scatter(*l.scratch, y, s, b)
	})
}

// finite reports whether every value of v is finite (neither NaN nor
// infinite): then every v·0 is ±0 and so is their sum; a NaN or infinity
// makes it NaN. Eight sums run side by side (twice the speed of testing
// each value's exponent).
func finite(v []float32) bool {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(v); i += 8 {
		u := v[i : i+8 : i+8]
		s0 += u[0] * 0
		s1 += u[1] * 0
		s2 += u[2] * 0
		s3 += u[3] * 0
		s4 += u[4] * 0
		s5 += u[5] * 0
		s6 += u[6] * 0
		s7 += u[7] * 0
	}
	for ; i < len(v); i++ {
		s0 += v[i] * 0
	}
	return s0+s1+s2+s3+s4+s5+s6+s7 == 0
}

// colBudget bounds the im2col scratch matrix, in elements, when several
// images are lowered together.
const colBudget = 1 << 21

func chunkSize(n, perImage int) int { return max(1, min(n, colBudget/max(1, perImage))) }

// lowered is the im2col form of a convolution over a batch: images are
// processed in chunks of nb, each lowered to a [K, nb*Ho*Wo] matrix so one
// GEMM covers the chunk.
type lowered struct {
	g       ConvGeom
	n, o    int // batch size and output channels
	k, hw   int // C*KH*KW and Ho*Wo
	in      int // C*H*W
	nb      int // images per chunk
	col     *[]float32
	scratch *[]float32 // a chunk of output-shaped data, channel-major, when nb > 1
}

func newLowered(g ConvGeom, n, o int) *lowered {
	l := &lowered{g: g, n: n, o: o, k: g.C * g.KH * g.KW, hw: g.Ho * g.Wo, in: g.C * g.H * g.W}
	l.nb = chunkSize(n, l.k*l.hw)
	l.col = GetScratch(l.k * l.nb * l.hw)
	if l.nb > 1 {
		l.scratch = GetScratch(o * l.nb * l.hw)
	}
	return l
}

// chunks calls fn for each chunk of images s..s+b of the batch, whose
// column matrix has leading dimension ld = b*Ho*Wo.
func (l *lowered) chunks(fn func(s, b, ld int)) {
	for s := 0; s < l.n; s += l.nb {
		b := min(l.nb, l.n-s)
		fn(s, b, b*l.hw)
	}
}

func (l *lowered) release() { PutScratch(l.col); PutScratch(l.scratch) }

// im2col lowers images s..s+b of x into the column matrix.
func (l *lowered) im2col(x []float32, s, b int) {
	col := *l.col
	ParallelFor(b, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			Im2col(l.g, x[(s+i)*l.in:(s+i+1)*l.in], col, b*l.hw, i*l.hw)
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

// useDirect1x1 reports whether the convolution g runs as one GEMM per
// image on the images as they lie.
func useDirect1x1(g ConvGeom) bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0 &&
		g.H*g.W >= Tuning.Direct1x1MinHW && g.C >= Tuning.Direct1x1MinC
}

// imageGrain returns how many images of fma multiply-adds each a
// parallel range takes at least, so that small convolutions run on the
// calling goroutine alone: splitting them costs more than it saves.
func imageGrain(fma int) int { return max(1, (1<<17)/max(1, fma)) }

// useDirect reports whether the convolution g of n images takes the direct
// kernels, reading in channels: stride 1, undilated, padding below the
// kernel, on a machine with the kernels, and with at most a quarter of the lanes of the last block of
// 16 images idle.
func useDirect(g ConvGeom, n, in int) bool {
	if !DirectConvFast() || in < Tuning.DirectMinC || g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || g.PH >= g.KH || g.PW >= g.KW {
		return false
	}
	nb := (n + 15) / 16
	return n >= Tuning.DirectMinN && 4*(16*nb-n) <= 16*nb
}

// convDirect runs the planned direct convolution d on src [N,C,HW] into
// dst [N,O,HWo] (plus bias when not nil), reading src in the block layout.
func convDirect(d *DirectConv, src []float32, n, c, hw, o, hwo int, dst, bias []float32) {
	nb := (n + 15) / 16
	xb := GetScratch(nb * hw * c * 16)
	defer PutScratch(xb)
	ToBlocks(src, n, c, hw, *xb)
	d.RunNCHW(*xb, nb, dst, n, bias)
}

// useImplicit reports whether the convolution g takes the implicit GEMM.
// The layout needs the padding to be less than the kernel.
func useImplicit(g ConvGeom) bool {
	if g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || g.KH*g.KW == 1 || g.PH >= g.KH || g.PW >= g.KW {
		return false
	}
	return g.Ho*g.Wo >= Tuning.ImplicitMinHW
}

// The implicit GEMM. For a stride-1, undilated convolution, the images of a
// chunk are copied once into a zero-padded, channel-major buffer XP [C][ld].
// Images lie on a grid of Hp×Wp = (H+PH)×(W+PW) cells per image: each row of
// W pixels is followed by PW zeros and each image by PH zero rows, which
// serve as the right and bottom padding of one row or image and the left and
// top padding of the next; a lead of PH rows and PW zeros comes first. Then
// the row (i, j, c) of the im2col matrix, over output positions q on the
// grid (q = n*P + y*Wp + x, P = Hp*Wp), is XP[c][lead + q + (i-PH)*Wp + j-PW]:
// a contiguous run of XP. The convolution is a GEMM of the filters, with
// their columns reordered to (i, j, c), by B given as those row starts
// (SgemmRowsB), with no im2col at all. The output is computed on the
// grid too and cropped. The cells cropped away cost extra FLOPs, P/(H*W) of
// the useful ones with a 3x3 kernel: 1.06x at 32x32, 1.13x at 16x16, 1.27x
// at 8x8.

// implicitBudget bounds the padded chunk buffers, in elements.
const implicitBudget = 1 << 21

// reorderTaps returns filters w [O,C,KH,KW] as an [O][KH*KW*C] matrix with
// columns in (i, j, c) order, or, when flip is set, the filters of the
// transposed convolution: [C][KH*KW*O] with column (i, j, o) holding
// w[o, c, KH-1-i, KW-1-j].
func reorderTaps(w []float32, o, c, kh, kw int, flip bool) []float32 {
	t := kh * kw
	r := make([]float32, o*c*t)
	for oi := 0; oi < o; oi++ {
		for ci := 0; ci < c; ci++ {
			src := w[(oi*c+ci)*t : (oi*c+ci+1)*t]
			for ij, v := range src {
				if flip {
					r[ci*t*o+(t-1-ij)*o+oi] = v
				} else {
					r[oi*t*c+ij*c+ci] = v
				}
			}
		}
	}
	return r
}

// padGrid is the layout of a chunk of images on the grid.
type padGrid struct {
	ph, pw int // padding
	hp, wp int // cells per image
	p      int // hp*wp
	lead   int // ph*wp + pw
}

func newPadGrid(h, w, ph, pw int) padGrid {
	hp, wp := h+ph, w+pw
	return padGrid{ph: ph, pw: pw, hp: hp, wp: wp, p: hp * wp, lead: ph*wp + pw}
}

// chunkLD returns the length of one channel of a chunk of b images.
func (g padGrid) chunkLD(b int) int { return g.lead + b*g.p }

// pad copies images s..s+b of src [N,C,H,W] into dst [C][ld], image i of
// channel c on the cells at dst[c*ld+lead+i*P:], with zeros everywhere else.
func (g padGrid) pad(src []float32, c, h, w, s, b, ld int, dst []float32) {
	hw := h * w
	ParallelFor(c*b, max(1, 4096/g.p), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			ch, i := t/b, t%b
			base := ch*ld + g.lead + i*g.p
			if i == 0 {
				clear(dst[ch*ld : base])
			}
			d := dst[base : base+g.p]
			sr := src[((s+i)*c+ch)*hw : ((s+i)*c+ch+1)*hw]
			if g.wp == w+1 {
				for y := 0; y < h; y++ {
					row := d[y*g.wp : (y+1)*g.wp]
					copy(row, sr[y*w:(y+1)*w])
					row[w] = 0
				}
			} else {
				for y := 0; y < h; y++ {
					row := d[y*g.wp : (y+1)*g.wp]
					copy(row[:w], sr[y*w:(y+1)*w])
					clear(row[w:])
				}
			}
			clear(d[h*g.wp:])
		}
	})
}

// tapRows returns the starts in XP [C][ld] of the rows (i, j, c) of the
// im2col matrix of a kh×kw kernel on grid g.
func (g padGrid) tapRows(c, kh, kw, ld int) []int {
	off := make([]int, 0, kh*kw*c)
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			for ch := 0; ch < c; ch++ {
				off = append(off, ch*ld+g.lead+(i-g.ph)*g.wp+j-g.pw)
			}
		}
	}
	return off
}

// implicitChunk returns how many images of grid g a chunk holds, given the
// channels of the buffers.
func implicitChunk(n, ch int, g padGrid) int {
	return max(1, min(n, implicitBudget/max(1, ch*g.p)))
}

// convImplicit sets dst [N,O,Ho,Wo] to the stride-1 convolution of
// src [N,C,H,W], zero-padded by ph < kh, pw < kw, with filters
// wr [O][KH*KW*C] in (i, j, c) column order.
func convImplicit(src []float32, n, c, h, w int, wr []float32, o, kh, kw, ph, pw int, dst []float32) {
	g := newPadGrid(h, w, ph, pw)
	ho, wo := h+2*ph-kh+1, w+2*pw-kw+1
	nb := implicitChunk(n, max(c, o), g)
	ld := g.chunkLD(nb)
	xp := GetScratch(c * ld)
	cp := GetScratch(o * nb * g.p)
	defer PutScratch(xp)
	defer PutScratch(cp)
	off := g.tapRows(c, kh, kw, ld)
	k := kh * kw * c
	ldc := nb * g.p
	for s := 0; s < n; s += nb {
		b := min(nb, n-s)
		g.pad(src, c, h, w, s, b, ld, *xp)
		cols := (b-1)*g.p + (ho-1)*g.wp + wo
		SgemmRowsB(false, false, o, cols, k, 1, wr, k, *xp, off, 0, *cp, ldc)
		out := *cp
		ParallelFor(o*b, max(1, 4096/g.p), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				i, oc := t/o, t%o
				d := dst[((s+i)*o+oc)*ho*wo : ((s+i)*o+oc+1)*ho*wo]
				sr := out[oc*ldc+i*g.p:]
				for y := 0; y < ho; y++ {
					copy(d[y*wo:(y+1)*wo], sr[y*g.wp:y*g.wp+wo])
				}
			}
		})
	}
}

// convImplicitWeightGrad sets dw [O,C,KH,KW] to the weight gradient of the
// stride-1 convolution g of x [N,C,H,W] given gy [N,O,Ho,Wo]:
// dW[o, (i,j,c)] = sum over q of GY[o][q] * XP[c][lead + q + (i-PH)*Wp + j-PW],
// where GY is gy on the grid with zeros at the cells the forward crops away,
// so that they add nothing.
func convImplicitWeightGrad(x, gy []float32, n int, cg ConvGeom, o int, dw []float32) {
	g := newPadGrid(cg.H, cg.W, cg.PH, cg.PW)
	c, kh, kw, ho, wo := cg.C, cg.KH, cg.KW, cg.Ho, cg.Wo
	nb := implicitChunk(n, max(c, o), g)
	ld := g.chunkLD(nb)
	xp := GetScratch(c * ld)
	gp := GetScratch(o * ld)
	defer PutScratch(xp)
	defer PutScratch(gp)
	off := g.tapRows(c, kh, kw, ld)
	k := kh * kw * c
	dwr := make([]float32, o*k)
	for s := 0; s < n; s += nb {
		b := min(nb, n-s)
		g.pad(x, c, cg.H, cg.W, s, b, ld, *xp)
		g.pad(gy, o, ho, wo, s, b, ld, *gp)
		cols := (b-1)*g.p + (ho-1)*g.wp + wo
		beta := float32(1)
		if s == 0 {
			beta = 0
		}
		SgemmRowsB(false, true, o, k, cols, 1, (*gp)[g.lead:], ld, *xp, off, beta, dwr, k)
	}
	t := kh * kw
	for oi := 0; oi < o; oi++ {
		for ci := 0; ci < c; ci++ {
			d := dw[(oi*c+ci)*t : (oi*c+ci+1)*t]
			for ij := range d {
				d[ij] = dwr[oi*k+ij*c+ci]
			}
		}
	}
}
