package kernels

import "fmt"

// Direct convolution.
//
// The GEMM formulations of a convolution (im2col, or the implicit GEMM on a
// padded grid) multiply by the zeros of the padding: on a 4×4 map a 3×3
// kernel with padding 1 has 100 of its 144 taps inside the image, on 8×8
// 484 of 576. The direct kernels skip them. Images are stored in blocks of
// 16, one vector lane per image: the block layout of x [N,C,H,W] is
// [N/16][H][W][C][16] (the last block padded with zero images), so that the
// 16 images' values of one channel at one pixel are one vector. A kernel
// (dconvAVX512xM) computes M output channels of one output pixel for the 16
// images of a block: for each tap inside the image and each input channel it
// loads one vector and accumulates it times M broadcast weights, so the
// output of a tap outside the image costs nothing. The weights are packed
// per block of output channels as [KH*KW][C][M].

// dconvLanes is the number of images in a block: one per vector lane.
const dconvLanes = 16

// dconvKernel computes m output channels of one output pixel of a block of
// images: for each tap t (taps holds pairs xoff, woff) and channel c < k,
// y[r] += w[woff + m*c + r] * x[xoff + 16c : +16], with y the m vectors of
// 16 floats, set rather than accumulated.
type dconvKernel func(k int, taps []int, w, x, y []float32)

// dconvAsm, when not nil, returns the assembly kernel for m rows (they
// need AVX-512).
var dconvAsm func(m int) dconvKernel

// transpose16, when not nil, transposes a 16×16 block:
// dst[i*lddst+j] = src[j*ldsrc+i].
var transpose16 func(dst *float32, lddst int, src *float32, ldsrc int)

// DirectConvFast reports whether this machine has the assembly kernels of
// the direct convolution; without them it runs a plain-Go reference of the
// same algorithm, correct but slower than the GEMM formulations.
func DirectConvFast() bool { return dconvAsm != nil }

// dconvRef is the plain-Go kernel.
func dconvRef(m int) dconvKernel {
	return func(k int, taps []int, w, x, y []float32) {
		yy := y[:m*dconvLanes]
		clear(yy)
		for t := 0; t+1 < len(taps); t += 2 {
			xs := x[taps[t] : taps[t]+k*dconvLanes]
			ws := w[taps[t+1] : taps[t+1]+k*m]
			for c := 0; c < k; c++ {
				xv := xs[c*dconvLanes : (c+1)*dconvLanes]
				for r := 0; r < m; r++ {
					wv := ws[c*m+r]
					acc := yy[r*dconvLanes : (r+1)*dconvLanes]
					for l, v := range xv {
						acc[l] += wv * v
					}
				}
			}
		}
	}
}

// dconvKernelFor returns the kernel for m rows: the assembly one when the
// machine has it, else the reference.
func dconvKernelFor(m int) dconvKernel {
	if dconvAsm != nil {
		return dconvAsm(m)
	}
	return dconvRef(m)
}

// dconvMaxRows is the most output channels one kernel call computes.
const dconvMaxRows = 30

// dconvRowTiles splits o output channels into near-equal blocks of at most
// dconvMaxRows-2 rows (28 leaves the kernels room to spare and splits the
// common widths evenly) and returns their sizes.
func dconvRowTiles(o int) []int {
	const most = 28
	nt := (o + most - 1) / most
	tiles := make([]int, nt)
	for i := range tiles {
		tiles[i] = o / nt
		if i < o%nt {
			tiles[i]++
		}
	}
	return tiles
}

// ToBlocks writes x [N,C,HW] in the block layout [ceil(N/16)][HW][C][16]
// used by ConvDirect (images past N are zero). dst must hold
// ceil(N/16)*HW*C*16 floats.
//
// It panics if a slice is too short.
func ToBlocks(x []float32, n, c, hw int, dst []float32) {
	nb := (n + dconvLanes - 1) / dconvLanes
	if len(x) < n*c*hw || len(dst) < nb*hw*c*dconvLanes {
		panic(fmt.Sprintf("kernels: ToBlocks: %d and %d floats for %d images of %dx%d", len(x), len(dst), n, c, hw))
	}
	ParallelFor(nb*c, max(1, 8192/(hw*dconvLanes)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, ch := t/c, t%c
			full := (b+1)*dconvLanes <= n
			base := b * hw * c * dconvLanes
			q := 0
			if full && transpose16 != nil {
				// dst[q][ch][l] = x[b*16+l][ch][q]: 16×16 blocks.
				src := (b*dconvLanes*c + ch) * hw
				for ; q+16 <= hw; q += 16 {
					transpose16(&dst[base+(q*c+ch)*dconvLanes], c*dconvLanes, &x[src+q], c*hw)
				}
			}
			for ; q < hw; q++ {
				d := dst[base+(q*c+ch)*dconvLanes : base+(q*c+ch+1)*dconvLanes]
				for l := range d {
					if i := b*dconvLanes + l; i < n {
						d[l] = x[(i*c+ch)*hw+q]
					} else {
						d[l] = 0
					}
				}
			}
		}
	})
}

// FromBlocks is the inverse of ToBlocks: it writes the first n images of
// the block layout src [ceil(N/16)][HW][C][16] to dst [N,C,HW].
//
// It panics if a slice is too short.
func FromBlocks(src []float32, n, c, hw int, dst []float32) {
	nb := (n + dconvLanes - 1) / dconvLanes
	if len(dst) < n*c*hw || len(src) < nb*hw*c*dconvLanes {
		panic(fmt.Sprintf("kernels: FromBlocks: %d and %d floats for %d images of %dx%d", len(src), len(dst), n, c, hw))
	}
	ParallelFor(nb*c, max(1, 8192/(hw*dconvLanes)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, ch := t/c, t%c
			full := (b+1)*dconvLanes <= n
			base := b * hw * c * dconvLanes
			q := 0
			if full && transpose16 != nil {
				dd := (b*dconvLanes*c + ch) * hw
				for ; q+16 <= hw; q += 16 {
					transpose16(&dst[dd+q], c*hw, &src[base+(q*c+ch)*dconvLanes], c*dconvLanes)
				}
			}
			for ; q < hw; q++ {
				s := src[base+(q*c+ch)*dconvLanes : base+(q*c+ch+1)*dconvLanes]
				for l, v := range s {
					if i := b*dconvLanes + l; i < n {
						dst[(i*c+ch)*hw+q] = v
					}
				}
			}
		}
	})
}

// DirectConv is a stride-1, undilated convolution planned for the direct
// kernels: its geometry, the packed weights and the tap lists.
type DirectConv struct {
	c, h, w    int // input channels and size
	o, ho, wo  int // output channels and size
	kh, kw     int
	ph, pw     int
	tiles      []int       // output channels per kernel call
	packed     [][]float32 // weights per tile: [KH*KW][C][m]
	taps       map[int][]int
	ntap, tap0 []int // per output pixel: taps inside the image, and where its list starts
}

// NewDirectConv plans the stride-1 convolution of C-channel h×w images,
// zero-padded by ph, pw, with o filters of kh×kw. The weights are read
// through wt(oc, c, i, j) (so that a caller can pass a transposed or flipped
// filter bank without copying it).
//
// It panics if the geometry is empty or the padding is not smaller than the
// kernel.
func NewDirectConv(c, h, w, o, kh, kw, ph, pw int, wt func(oc, c, i, j int) float32) *DirectConv {
	ho, wo := h+2*ph-kh+1, w+2*pw-kw+1
	if c < 1 || o < 1 || kh < 1 || kw < 1 || ph < 0 || pw < 0 || ph >= kh || pw >= kw || ho < 1 || wo < 1 {
		panic(fmt.Sprintf("kernels: NewDirectConv: no direct convolution of %dx%dx%d by %dx%dx%d with padding %dx%d", c, h, w, o, kh, kw, ph, pw))
	}
	d := &DirectConv{c: c, h: h, w: w, o: o, ho: ho, wo: wo, kh: kh, kw: kw, ph: ph, pw: pw, tiles: dconvRowTiles(o)}
	o0 := 0
	for _, m := range d.tiles {
		p := make([]float32, kh*kw*c*m)
		for i := 0; i < kh; i++ {
			for j := 0; j < kw; j++ {
				t := (i*kw + j) * c * m
				for ch := 0; ch < c; ch++ {
					for r := 0; r < m; r++ {
						p[t+ch*m+r] = wt(o0+r, ch, i, j)
					}
				}
			}
		}
		d.packed = append(d.packed, p)
		o0 += m
	}
	// Tap lists: for each output pixel, the (xoff, woff/m) of its taps
	// inside the image; woff is scaled per tile width when run.
	d.ntap = make([]int, ho*wo)
	d.tap0 = make([]int, ho*wo)
	var list []int
	for y := 0; y < ho; y++ {
		for x := 0; x < wo; x++ {
			q := y*wo + x
			d.tap0[q] = len(list) / 2
			for i := 0; i < kh; i++ {
				iy := y + i - ph
				if iy < 0 || iy >= h {
					continue
				}
				for j := 0; j < kw; j++ {
					ix := x + j - pw
					if ix < 0 || ix >= w {
						continue
					}
					list = append(list, (iy*w+ix)*c*dconvLanes, (i*kw+j)*c)
					d.ntap[q]++
				}
			}
		}
	}
	d.taps = map[int][]int{}
	for _, m := range d.tiles {
		if d.taps[m] != nil {
			continue
		}
		l := make([]int, len(list))
		for t := 0; t < len(list); t += 2 {
			l[t], l[t+1] = list[t], list[t+1]*m
		}
		d.taps[m] = l
	}
	return d
}

// OutSize returns the output height and width.
func (d *DirectConv) OutSize() (ho, wo int) { return d.ho, d.wo }

// Run computes the convolution of nb blocks of images xb in the block
// layout [nb][H][W][C][16] into yb [nb][Ho][Wo][O][16].
//
// It panics if a slice is too short.
func (d *DirectConv) Run(xb []float32, nb int, yb []float32) {
	d.run(xb, nb, yb, dconvKernelFor)
}

func (d *DirectConv) run(xb []float32, nb int, yb []float32, kernel func(m int) dconvKernel) {
	xs, ys := d.h*d.w*d.c*dconvLanes, d.ho*d.wo*d.o*dconvLanes
	if len(xb) < nb*xs || len(yb) < nb*ys {
		panic(fmt.Sprintf("kernels: DirectConv.Run: %d and %d floats for %d blocks", len(xb), len(yb), nb))
	}
	kerns := make([]dconvKernel, len(d.tiles))
	for i, m := range d.tiles {
		kerns[i] = kernel(m)
	}
	rowWork := d.wo * d.o * d.c * d.kh * d.kw
	ParallelFor(nb*d.ho, max(1, (1<<18)/max(1, rowWork)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, y := t/d.ho, t%d.ho
			xbase := xb[b*xs : (b+1)*xs]
			o0 := 0
			for ti, m := range d.tiles {
				kern, w, taps := kerns[ti], d.packed[ti], d.taps[m]
				for x := 0; x < d.wo; x++ {
					q := y*d.wo + x
					kern(d.c, taps[2*d.tap0[q]:2*(d.tap0[q]+d.ntap[q])], w, xbase, yb[b*ys+(q*d.o+o0)*dconvLanes:])
				}
				o0 += m
			}
		}
	})
}
