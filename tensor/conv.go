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
	l.col = kernels.GetScratch(l.k * l.nb * l.hw)
	if l.nb > 1 {
		l.scratch = kernels.GetScratch(o * l.nb * l.hw)
	}
	return l
}

func (l *lowered) release() { kernels.PutScratch(l.col); kernels.PutScratch(l.scratch) }

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
	y := &Tensor{shape: []int{n, o, g.Ho, g.Wo}, data: make([]float32, n*o*g.Ho*g.Wo)}
	if n == 0 {
		return y
	}
	if useDirect(g, n, g.C) {
		d := kernels.NewDirectConv(g.C, g.H, g.W, o, g.KH, g.KW, g.PH, g.PW, w.data, false)
		var bias []float32
		if b != nil {
			bias = b.data
		}
		convDirect(d, x.data, n, g.C, g.H*g.W, o, g.Ho*g.Wo, y.data, bias)
		return y
	}
	conv2dGemm(x, w, p, g, y)
	if b != nil {
		hw := g.Ho * g.Wo
		kernels.ParallelFor(n*o, max(1, parallelGrain/max(1, hw)), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				v := b.data[t%o]
				for i := range y.data[t*hw : (t+1)*hw] {
					y.data[t*hw+i] += v
				}
			}
		})
	}
	return y
}

// conv2dGemm sets y to Conv2d(x, w, p) through the GEMM formulations.
func conv2dGemm(x, w *Tensor, p ConvParams, g kernels.ConvGeom, y *Tensor) {
	n, o := x.shape[0], w.shape[0]
	if useDirect1x1(g) {
		hw := g.H * g.W
		// Images to workers: each GEMM is too small to split well.
		kernels.ParallelFor(n, imageGrain(o*g.C*g.H*g.W), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				kernels.Sgemm(false, false, o, hw, g.C, 1, w.data, g.C, x.data[i*g.C*hw:], hw, 0, y.data[i*o*hw:], hw)
			}
		})
		return
	}
	if useImplicit(g) && g.C >= implicitMinC {
		convImplicit(x.data, n, g.C, g.H, g.W, reorderTaps(w.data, o, g.C, g.KH, g.KW, false), o, g.KH, g.KW, g.PH, g.PW, y.data)
		return
	}
	if k, hw := g.C*g.KH*g.KW, g.Ho*g.Wo; k <= smallKMax && n > 1 {
		// Few channels (an image input layer): a GEMM per image straight
		// into y, with the images split between workers, rather than
		// a batched GEMM whose output must be scattered to y after.
		in := g.C * g.H * g.W
		kernels.ParallelFor(n, imageGrain(o*k*hw), func(lo, hi int) {
			col := kernels.GetScratch(k * hw)
			defer kernels.PutScratch(col)
			for i := lo; i < hi; i++ {
				kernels.Im2col(g, x.data[i*in:(i+1)*in], *col, hw, 0)
				kernels.Sgemm(false, false, o, hw, k, 1, w.data, k, *col, hw, 0, y.data[i*o*hw:(i+1)*o*hw], hw)
			}
		})
		return
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
	if useDirect1x1(g) {
		hw := h * w
		kernels.ParallelFor(n, imageGrain(o*g.C*h*w), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				kernels.Sgemm(true, false, g.C, hw, o, 1, wt.data, g.C, gy.data[i*o*hw:], hw, 0, dx.data[i*g.C*hw:], hw)
			}
		})
		return dx
	}
	if useDirect(g, n, o) {
		// The transposed convolution of a stride-1 one is a convolution
		// of gy, padded by k-1-p, with the flipped filters.
		kh, kw, c := g.KH, g.KW, g.C
		d := kernels.NewDirectConv(o, g.Ho, g.Wo, c, kh, kw, kh-1-g.PH, kw-1-g.PW, wt.data, true)
		convDirect(d, gy.data, n, o, g.Ho*g.Wo, c, h*w, dx.data, nil)
		return dx
	}
	if useImplicit(g) && g.C >= implicitMinC {
		// The transposed convolution of a stride-1 one is a convolution
		// of gy, padded by k-1-p, with the flipped filters.
		convImplicit(gy.data, n, o, g.Ho, g.Wo, reorderTaps(wt.data, o, g.C, g.KH, g.KW, true), g.C, g.KH, g.KW, g.KH-1-g.PH, g.KW-1-g.PW, dx.data)
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
	if useDirect1x1(g) {
		// Images in up to four groups, each summed in order into its
		// own gradient by one worker; the groups are added in order, so
		// the result does not depend on the worker count.
		hw := g.H * g.W
		groups := min(n, 4)
		accs := make([]*[]float32, groups)
		kernels.ParallelFor(groups, imageGrain(o*g.C*g.H*g.W*n/groups), func(lo, hi int) {
			for gi := lo; gi < hi; gi++ {
				accs[gi] = kernels.GetScratch(o * g.C)
				for i := gi * n / groups; i < (gi+1)*n/groups; i++ {
					kernels.Sgemm(false, true, o, g.C, hw, 1, gy.data[i*o*hw:], hw, x.data[i*g.C*hw:], hw, float32(min(i-gi*n/groups, 1)), *accs[gi], g.C)
				}
			}
		})
		copy(dw.data, *accs[0])
		for _, a := range accs[1:] {
			for i, v := range *a {
				dw.data[i] += v
			}
		}
		for _, a := range accs {
			kernels.PutScratch(a)
		}
		return dw
	}
	if useDirect(g, n, g.C) && g.C%16 == 0 {
		nb := (n + 15) / 16
		xt := kernels.GetScratch(nb * g.H * g.W * 16 * g.C)
		gt := kernels.GetScratch(nb * g.Ho * g.Wo * 16 * o)
		defer kernels.PutScratch(xt)
		defer kernels.PutScratch(gt)
		kernels.ToInterleaved(x.data, n, g.C, g.H*g.W, *xt)
		kernels.ToInterleaved(gy.data, n, o, g.Ho*g.Wo, *gt)
		kernels.NewDirectConvWeightGrad(g.C, g.H, g.W, o, g.KH, g.KW, g.PH, g.PW).Run(*xt, *gt, nb, dw.data)
		return dw
	}
	if useImplicit(g) && g.C >= implicitMinC {
		convImplicitWeightGrad(x.data, gy.data, n, g, o, dw.data)
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
// (kernels.SgemmRowsB), with no im2col at all. The output is computed on the
// grid too and cropped. The cells cropped away cost extra FLOPs, P/(H*W) of
// the useful ones with a 3x3 kernel: 1.06x at 32x32, 1.13x at 16x16, 1.27x
// at 8x8.

// implicitMinHW is the smallest output size (Ho*Wo) at which a convolution
// takes the implicit GEMM; below it the padding wastes more than im2col
// costs. It needs at least implicitMinC input channels: the GEMMs read B in
// blocks of C rows, and with one input channel im2col is 1.5x faster (for
// the input gradient, C is the rows of its GEMM, a thin 1-row product). 1×1 convolutions keep
// im2col, which is then a plain copy. Variables so that tests can cover both
// paths.
var (
	implicitMinHW = 64
	implicitMinC  = 4
)

// direct1x1MinHW is the smallest image (H*W), and direct1x1MinC the fewest
// input channels, with which a 1×1, stride-1, unpadded convolution runs as
// one GEMM per image on the images as they lie ([C, H*W] each), with no
// copies at all: on the paper's shortcuts, 1.4-2.5x faster than im2col at
// 16x16 and 32x32, but 0.85x with 16 channels, and slower on small images.
var direct1x1MinHW, direct1x1MinC = 256, 32

func useDirect1x1(g kernels.ConvGeom) bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0 &&
		g.H*g.W >= direct1x1MinHW && g.C >= direct1x1MinC
}

// imageGrain returns how many images of fma multiply-adds each a
// parallel range takes at least, so that small convolutions run on the
// calling goroutine alone: splitting them costs more than it saves.
func imageGrain(fma int) int { return max(1, (1<<17)/max(1, fma)) }

// smallKMax is the largest reduction (C*KH*KW) for which the forward GEMM
// path runs one GEMM per image: with K that small, writing the output
// twice (batched, then scattered) cost more than the products.
var smallKMax = 32

// directMinN is the smallest batch that takes the direct convolution, whose
// kernels compute 16 images at once; directMinC the fewest input channels
// it reads (with one, every tap costs a loop for one vector: the forward of
// the critic's 1-channel input layer is 1.3x faster through im2col).
var directMinN, directMinC = 16, 4

// useDirect reports whether the convolution g of n images takes the direct
// kernels, reading in channels: stride 1, undilated, padding below the
// kernel, on a machine with the kernels, and with at most a quarter of the lanes of the last block of
// 16 images idle.
func useDirect(g kernels.ConvGeom, n, in int) bool {
	if !kernels.DirectConvFast() || in < directMinC || g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || g.PH >= g.KH || g.PW >= g.KW {
		return false
	}
	nb := (n + 15) / 16
	return n >= directMinN && 4*(16*nb-n) <= 16*nb
}

// convDirect runs the planned direct convolution d on src [N,C,HW] into
// dst [N,O,HWo] (plus bias when not nil), reading src in the block layout.
func convDirect(d *kernels.DirectConv, src []float32, n, c, hw, o, hwo int, dst, bias []float32) {
	nb := (n + 15) / 16
	xb := kernels.GetScratch(nb * hw * c * 16)
	defer kernels.PutScratch(xb)
	kernels.ToBlocks(src, n, c, hw, *xb)
	d.RunNCHW(*xb, nb, dst, n, bias)
}

// useImplicit reports whether the convolution g takes the implicit GEMM.
// The layout needs the padding to be less than the kernel.
func useImplicit(g kernels.ConvGeom) bool {
	if g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || g.KH*g.KW == 1 || g.PH >= g.KH || g.PW >= g.KW {
		return false
	}
	return g.Ho*g.Wo >= implicitMinHW
}

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
	kernels.ParallelFor(c*b, max(1, 4096/g.p), func(lo, hi int) {
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
	xp := kernels.GetScratch(c * ld)
	cp := kernels.GetScratch(o * nb * g.p)
	defer kernels.PutScratch(xp)
	defer kernels.PutScratch(cp)
	off := g.tapRows(c, kh, kw, ld)
	k := kh * kw * c
	ldc := nb * g.p
	for s := 0; s < n; s += nb {
		b := min(nb, n-s)
		g.pad(src, c, h, w, s, b, ld, *xp)
		cols := (b-1)*g.p + (ho-1)*g.wp + wo
		kernels.SgemmRowsB(false, false, o, cols, k, 1, wr, k, *xp, off, 0, *cp, ldc)
		out := *cp
		kernels.ParallelFor(o*b, max(1, 4096/g.p), func(lo, hi int) {
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
func convImplicitWeightGrad(x, gy []float32, n int, cg kernels.ConvGeom, o int, dw []float32) {
	g := newPadGrid(cg.H, cg.W, cg.PH, cg.PW)
	c, kh, kw, ho, wo := cg.C, cg.KH, cg.KW, cg.Ho, cg.Wo
	nb := implicitChunk(n, max(c, o), g)
	ld := g.chunkLD(nb)
	xp := kernels.GetScratch(c * ld)
	gp := kernels.GetScratch(o * ld)
	defer kernels.PutScratch(xp)
	defer kernels.PutScratch(gp)
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
		kernels.SgemmRowsB(false, true, o, k, cols, 1, (*gp)[g.lead:], ld, *xp, off, beta, dwr, k)
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
