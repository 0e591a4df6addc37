package kernels

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

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
// 16 floats, set to bias[r] first (0 when bias is nil) rather than
// accumulated.
type dconvKernel func(k int, taps []int, w, x, y, bias []float32)

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
	return func(k int, taps []int, w, x, y, bias []float32) {
		yy := y[:m*dconvLanes]
		clear(yy)
		if bias != nil {
			for r, b := range bias[:m] {
				for l := range dconvLanes {
					yy[r*dconvLanes+l] = b
				}
			}
		}
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

// dconvMaxRows is the most output channels one kernel call computes (the
// kernels exist for 1 to 30); plans use tiles of up to dconvTileRows,
// which splits the common widths evenly (64 as 22+21+21, 128 as
// 26+26+26+25+25).
const (
	dconvMaxRows  = 30
	dconvTileRows = 28
)

// rowTiles splits o rows into near-equal tiles of at most most rows and
// returns their sizes.
func rowTiles(o, most int) []int {
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
// used by DirectConv (images past N are zero). dst must hold
// ceil(N/16)*HW*C*16 floats.
//
// It panics if a slice is too short.
func ToBlocks(x []float32, n, c, hw int, dst []float32) {
	nb := (n + dconvLanes - 1) / dconvLanes
	if len(x) < n*c*hw || len(dst) < nb*hw*c*dconvLanes {
		panic(fmt.Sprintf("kernels: ToBlocks: %d and %d floats for %d images of %dx%d", len(x), len(dst), n, c, hw))
	}
	blocks(x, n, c, hw, dst, true)
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
	blocks(dst, n, c, hw, src, false)
}

// blocks copies between x [N,C,HW] and its block layout blk: to blk when
// toBlocks is set (zero past image n), else back to x (the first n images).
// Whole blocks of 16 images go through 16×16 transposes of 16 pixels of one
// channel (each pixel's 16 values a row of blk); maps whose pixels do not
// come in 16s go through blocksSmall.
func blocks(x []float32, n, c, hw int, blk []float32, toBlocks bool) {
	if hw%16 != 0 && transpose16 != nil && c*hw >= 16 {
		blocksSmall(x, n, c, hw, blk, toBlocks)
		return
	}
	nb := (n + dconvLanes - 1) / dconvLanes
	ParallelFor(nb*c, max(1, 8192/(hw*dconvLanes)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, ch := t/c, t%c
			base := b * hw * c * dconvLanes
			img := (b*dconvLanes*c + ch) * hw // x[b*16][ch][0]
			q := 0
			if (b+1)*dconvLanes <= n && transpose16 != nil {
				for ; q+16 <= hw; q += 16 {
					if toBlocks {
						transpose16(&blk[base+(q*c+ch)*dconvLanes], c*dconvLanes, &x[img+q], c*hw)
					} else {
						transpose16(&x[img+q], c*hw, &blk[base+(q*c+ch)*dconvLanes], c*dconvLanes)
					}
				}
			}
			for ; q < hw; q++ {
				v := blk[base+(q*c+ch)*dconvLanes : base+(q*c+ch+1)*dconvLanes]
				for l := range v {
					i := b*dconvLanes + l
					switch {
					case i < n && toBlocks:
						v[l] = x[(i*c+ch)*hw+q]
					case i < n:
						x[(i*c+ch)*hw+q] = v[l]
					case toBlocks:
						v[l] = 0
					}
				}
			}
		}
	})
}

// blocksSmall is ToBlocks (toBlocks) or FromBlocks for images too small for
// whole 16×16 blocks of pixels: each block of 16 images is a 16×(C*HW)
// matrix, transposed 16 columns at a time through a buffer whose rows (the
// 16 images' values of one channel and pixel) then go where they belong.
func blocksSmall(x []float32, n, c, hw int, blk []float32, toBlocks bool) {
	nb := (n + dconvLanes - 1) / dconvLanes
	cols := c * hw
	chunks := (cols + 15) / 16
	ParallelFor(nb*chunks, max(1, 8192/256), func(lo, hi int) {
		var tmp [256]float32
		for t := lo; t < hi; t++ {
			b, j0 := t/chunks, t%chunks*16
			base := b * hw * c * dconvLanes
			full := (b+1)*dconvLanes <= n && j0+16 <= cols
			if !full {
				// Scalar, for a partial block of images or columns.
				for j := j0; j < min(cols, j0+16); j++ {
					ch, q := j/hw, j%hw
					d := blk[base+(q*c+ch)*dconvLanes : base+(q*c+ch+1)*dconvLanes]
					for l := range d {
						i := b*dconvLanes + l
						switch {
						case !toBlocks && i < n:
							x[(i*c+ch)*hw+q] = d[l]
						case toBlocks && i < n:
							d[l] = x[(i*c+ch)*hw+q]
						case toBlocks:
							d[l] = 0
						}
					}
				}
				continue
			}
			src := b * dconvLanes * cols
			if toBlocks {
				// tmp[jj][l] = x[b*16+l][j0+jj]
				transpose16(&tmp[0], 16, &x[src+j0], cols)
				for jj := 0; jj < 16; jj++ {
					ch, q := (j0+jj)/hw, (j0+jj)%hw
					copy(blk[base+(q*c+ch)*dconvLanes:base+(q*c+ch+1)*dconvLanes], tmp[jj*16:jj*16+16])
				}
				continue
			}
			for jj := 0; jj < 16; jj++ {
				ch, q := (j0+jj)/hw, (j0+jj)%hw
				copy(tmp[jj*16:jj*16+16], blk[base+(q*c+ch)*dconvLanes:base+(q*c+ch+1)*dconvLanes])
			}
			transpose16(&x[src+j0], cols, &tmp[0], 16)
		}
	})
}

// DirectConv is a stride-1, undilated convolution planned for the direct
// kernels: its geometry, the packed weights and the tap lists.
type DirectConv struct {
	c, h, w   int // input channels and size
	o, ho, wo int // output channels and size
	kh, kw    int
	ph, pw    int
	tiles     []int       // output channels per kernel call
	packed    [][]float32 // weights per tile: [KH*KW][C][m]
	*tapLists
}

// NewDirectConv plans the stride-1 convolution of C-channel h×w images,
// zero-padded by ph, pw, with o filters of kh×kw: wt [O,C,KH,KW], or, when
// transposed is set, the transposed convolution of the filters wt
// [C,O,KH,KW] of a convolution from O channels to C (the input gradient of a
// stride-1 convolution is such a transposed convolution of the output
// gradient, padded by kh-1-ph, kw-1-pw).
//
// It panics if the geometry is empty, the padding is not smaller than the
// kernel, or wt is too short.
func NewDirectConv(c, h, w, o, kh, kw, ph, pw int, wt []float32, transposed bool) *DirectConv {
	ho, wo := h+2*ph-kh+1, w+2*pw-kw+1
	if c < 1 || o < 1 || kh < 1 || kw < 1 || ph < 0 || pw < 0 || ph >= kh || pw >= kw || ho < 1 || wo < 1 || len(wt) < o*c*kh*kw {
		panic(fmt.Sprintf("kernels: NewDirectConv: no direct convolution of %dx%dx%d by %dx%dx%d with padding %dx%d and %d weights", c, h, w, o, kh, kw, ph, pw, len(wt)))
	}
	d := &DirectConv{c: c, h: h, w: w, o: o, ho: ho, wo: wo, kh: kh, kw: kw, ph: ph, pw: pw, tiles: rowTiles(o, dconvTileRows)}
	taps := kh * kw
	d.packed = packedWeights(wt[:o*c*taps], c, o, taps, transposed, d.tiles)
	d.tapLists = tapListsFor(tapKey{c, h, w, o, kh, kw, ph, pw})
	return d
}

// tapLists are the taps of each output pixel of a plan: ntap[q] taps inside
// the image, starting at pair tap0[q] of taps[m], the list of (xoff, woff)
// for tiles of m output channels. They depend on the geometry alone, which a
// training step repeats, so they are kept (tapListsFor) rather than built
// and collected at every call.
type tapLists struct {
	taps       map[int][]int
	ntap, tap0 []int
}

type tapKey struct{ c, h, w, o, kh, kw, ph, pw int }

var tapCache struct {
	sync.Mutex
	m map[tapKey]*tapLists
}

// tapCacheMax bounds the geometries kept; past it the cache starts over.
const tapCacheMax = 256

func tapListsFor(k tapKey) *tapLists {
	tapCache.Lock()
	t := tapCache.m[k]
	tapCache.Unlock()
	if t != nil {
		return t
	}
	t = newTapLists(k)
	tapCache.Lock()
	defer tapCache.Unlock()
	if tapCache.m == nil || len(tapCache.m) >= tapCacheMax {
		tapCache.m = map[tapKey]*tapLists{}
	}
	tapCache.m[k] = t
	return t
}

func newTapLists(k tapKey) *tapLists {
	ho, wo := k.h+2*k.ph-k.kh+1, k.w+2*k.pw-k.kw+1
	t := &tapLists{ntap: make([]int, ho*wo), tap0: make([]int, ho*wo), taps: map[int][]int{}}
	// list holds (xoff, woff/m) pairs; woff is scaled per tile width below.
	var list []int
	for y := 0; y < ho; y++ {
		for x := 0; x < wo; x++ {
			q := y*wo + x
			t.tap0[q] = len(list) / 2
			for i := 0; i < k.kh; i++ {
				iy := y + i - k.ph
				if iy < 0 || iy >= k.h {
					continue
				}
				for j := 0; j < k.kw; j++ {
					ix := x + j - k.pw
					if ix < 0 || ix >= k.w {
						continue
					}
					list = append(list, (iy*k.w+ix)*k.c*dconvLanes, (i*k.kw+j)*k.c)
					t.ntap[q]++
				}
			}
		}
	}
	for _, m := range rowTiles(k.o, dconvTileRows) {
		if t.taps[m] != nil {
			continue
		}
		l := make([]int, len(list))
		for i := 0; i < len(list); i += 2 {
			l[i], l[i+1] = list[i], list[i+1]*m
		}
		t.taps[m] = l
	}
	return t
}

// packWeights packs the filters for the kernels: per tile of m output
// channels, [taps][c][m] (see NewDirectConv for transposed).
func packWeights(wt []float32, c, o, taps int, transposed bool, tiles []int) [][]float32 {
	packed := make([][]float32, len(tiles))
	ParallelFor(len(tiles), max(1, (1<<15)/(taps*c*28)), func(lo, hi int) {
		for ti := lo; ti < hi; ti++ {
			m, o0 := tiles[ti], 0
			for _, mm := range tiles[:ti] {
				o0 += mm
			}
			// p[t][ch][r] is the weight of output channel o0+r, input
			// channel ch, tap t.
			// Channel by channel, so that the taps×m floats written
			// for one stay in L1.
			p := make([]float32, taps*c*m)
			stride := c * m // between taps
			for ch := 0; ch < c; ch++ {
				for r := 0; r < m; r++ {
					if transposed {
						src := wt[(ch*o+o0+r)*taps : (ch*o+o0+r+1)*taps]
						d := ((taps-1)*c+ch)*m + r
						for _, v := range src {
							p[d] = v
							d -= stride
						}
					} else {
						src := wt[((o0+r)*c+ch)*taps : ((o0+r)*c+ch+1)*taps]
						d := ch*m + r
						for _, v := range src {
							p[d] = v
							d += stride
						}
					}
				}
			}
			packed[ti] = p
		}
	})
	return packed
}

// The packed weights of recent plans are kept, with a copy of the filters
// they came from: a training step convolves with the same filters several
// times (real and generated images, the gradient penalty's double
// backward), and packing a 256×256×3×3 bank costs as much as a third of
// its convolution on a 4×4 map. A plan reuses packed weights only when the
// filters are bit for bit those of the copy, so the cache can never be
// stale; comparing costs a tenth of packing.
type packKey struct {
	data               uintptr
	c, o, taps, ntiles int
	transposed         bool
}

type packEntry struct {
	src    []float32
	packed [][]float32
	used   uint64
}

var packCache struct {
	sync.Mutex
	m     map[packKey]*packEntry
	clock uint64
	bytes int
}

// packCacheBytes bounds the floats the cache holds (copies and packed
// weights), in bytes.
const packCacheBytes = 64 << 20

// packedWeights returns packWeights(wt, ...), from the cache when it holds
// the packing of the same filters.
func packedWeights(wt []float32, c, o, taps int, transposed bool, tiles []int) [][]float32 {
	key := packKey{uintptr(unsafe.Pointer(unsafe.SliceData(wt))), c, o, taps, len(tiles), transposed}
	size := 8 * len(wt)
	packCache.Lock()
	e := packCache.m[key]
	if e != nil {
		packCache.clock++
		e.used = packCache.clock
	}
	packCache.Unlock()
	if e != nil && sameBits(e.src, wt) {
		return e.packed
	}
	packed := packWeights(wt, c, o, taps, transposed, tiles)
	if size > packCacheBytes/4 {
		return packed
	}
	e = &packEntry{src: slices.Clone(wt), packed: packed}
	packCache.Lock()
	defer packCache.Unlock()
	if packCache.m == nil {
		packCache.m = map[packKey]*packEntry{}
	}
	if old := packCache.m[key]; old != nil {
		packCache.bytes -= 8 * len(old.src)
	}
	for packCache.bytes+size > packCacheBytes {
		var lru packKey
		var oldest *packEntry
		for k, v := range packCache.m {
			if oldest == nil || v.used < oldest.used {
				lru, oldest = k, v
			}
		}
		packCache.bytes -= 8 * len(oldest.src)
		delete(packCache.m, lru)
	}
	packCache.clock++
	e.used = packCache.clock
	packCache.m[key] = e
	packCache.bytes += size
	return packed
}

// sameBits reports whether a and b hold the same bits.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	ab := unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 4*len(a))
	bb := unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 4*len(b))
	return bytes.Equal(ab, bb)
}

// OutSize returns the output height and width.
func (d *DirectConv) OutSize() (ho, wo int) { return d.ho, d.wo }

// Run computes the convolution of nb blocks of images xb in the block
// layout [nb][H][W][C][16] into yb [nb][Ho][Wo][O][16].
//
// It panics if a slice is too short.
func (d *DirectConv) Run(xb []float32, nb int, yb []float32) {
	d.run(xb, nb, yb, nil, 0, nil, dconvKernelFor)
}

// RunNCHW is Run writing the output as y [N,O,Ho,Wo] for n images (the
// first n of the blocks), plus bias [O] per channel when bias is not nil:
// each output row goes from the block layout to y while it is still in
// cache, which saves a pass over memory, and the bias is where the
// accumulators start.
//
// It panics if a slice is too short or n does not fit nb blocks.
func (d *DirectConv) RunNCHW(xb []float32, nb int, y []float32, n int, bias []float32) {
	if n > nb*dconvLanes || n <= (nb-1)*dconvLanes || len(y) < n*d.o*d.ho*d.wo || (bias != nil && len(bias) < d.o) {
		panic(fmt.Sprintf("kernels: DirectConv.RunNCHW: %d floats and %d biases for %d images in %d blocks", len(y), len(bias), n, nb))
	}
	if d.wo < 16 || transpose16 == nil {
		// Short rows: through whole blocks, whose 16×16 transposes
		// span rows (1.1-1.4x faster on 4×4 and 8×8 maps).
		yb := GetScratch(nb * d.ho * d.wo * d.o * dconvLanes)
		defer PutScratch(yb)
		d.run(xb, nb, *yb, nil, 0, bias, dconvKernelFor)
		FromBlocks(*yb, n, d.o, d.ho*d.wo, y)
		return
	}
	d.run(xb, nb, nil, y, n, bias, dconvKernelFor)
}

// run computes the blocks into yb, or, when yb is nil, into y [n,O,Ho,Wo]
// through a buffer of one output row, starting from bias (or 0).
func (d *DirectConv) run(xb []float32, nb int, yb, y []float32, n int, bias []float32, kernel func(m int) dconvKernel) {
	xs, ys := d.h*d.w*d.c*dconvLanes, d.ho*d.wo*d.o*dconvLanes
	if len(xb) < nb*xs || (yb != nil && len(yb) < nb*ys) {
		panic(fmt.Sprintf("kernels: DirectConv.Run: %d and %d floats for %d blocks", len(xb), len(yb), nb))
	}
	kerns := make([]dconvKernel, len(d.tiles))
	for i, m := range d.tiles {
		kerns[i] = kernel(m)
	}
	rowWork := d.wo * d.o * d.c * d.kh * d.kw
	rowLen := d.wo * d.o * dconvLanes
	ParallelFor(nb*d.ho, max(1, (1<<18)/max(1, rowWork)), func(lo, hi int) {
		var row []float32
		if yb == nil {
			// Room past the row for rowToNCHW's last 16×16 block to
			// read.
			buf := GetScratch(rowLen + dconvLanes*d.o*dconvLanes)
			defer PutScratch(buf)
			row = *buf
		}
		for t := lo; t < hi; t++ {
			b, yy := t/d.ho, t%d.ho
			xbase := xb[b*xs : (b+1)*xs]
			var out []float32
			if yb != nil {
				out = yb[b*ys+yy*rowLen : b*ys+(yy+1)*rowLen]
			} else {
				out = row[:rowLen]
			}
			o0 := 0
			for ti, m := range d.tiles {
				kern, w, taps := kerns[ti], d.packed[ti], d.taps[m]
				var b []float32
				if bias != nil {
					b = bias[o0 : o0+m]
				}
				for x := 0; x < d.wo; x++ {
					q := yy*d.wo + x
					kern(d.c, taps[2*d.tap0[q]:2*(d.tap0[q]+d.ntap[q])], w, xbase, out[(x*d.o+o0)*dconvLanes:], b)
				}
				o0 += m
			}
			if yb == nil {
				d.rowToNCHW(row, b, yy, y, n)
			}
		}
	})
}

// rowToNCHW writes output row yy of block b, row [Wo][O][16], to
// y [n,O,Ho,Wo].
func (d *DirectConv) rowToNCHW(row []float32, b, yy int, y []float32, n int) {
	hwo := d.ho * d.wo
	lanes := min(dconvLanes, n-b*dconvLanes)
	x0 := 0
	if lanes == dconvLanes && transpose16 != nil {
		for ; x0+16 <= d.wo; x0 += 16 {
			for oc := 0; oc < d.o; oc++ {
				// y[b*16+l][oc][yy][x0+x] = row[x0+x][oc][l]
				transpose16(&y[(b*dconvLanes*d.o+oc)*hwo+yy*d.wo+x0], d.o*hwo, &row[(x0*d.o+oc)*dconvLanes], d.o*dconvLanes)
			}
		}
	}
	if lanes == dconvLanes && transpose16 != nil && x0 < d.wo {
		// The last pixels of the row, through a buffer: tmp[l][x] for
		// the 16 images (rows past the row's end read the buffer's
		// next channels, and are dropped).
		var tmp [256]float32
		nx := d.wo - x0
		for oc := 0; oc < d.o; oc++ {
			src := (x0*d.o + oc) * dconvLanes
			if src+15*d.o*dconvLanes+16 > len(row) {
				break // the scalar loop below does the rest
			}
			transpose16(&tmp[0], 16, &row[src], d.o*dconvLanes)
			for l := 0; l < dconvLanes; l++ {
				dst := (b*dconvLanes+l)*d.o*hwo + oc*hwo + yy*d.wo + x0
				copy(y[dst:dst+nx], tmp[l*16:l*16+nx])
			}
			if oc == d.o-1 {
				return
			}
		}
	}
	for x := x0; x < d.wo; x++ {
		for oc := 0; oc < d.o; oc++ {
			v := row[(x*d.o+oc)*dconvLanes : (x*d.o+oc)*dconvLanes+lanes]
			dst := (b*dconvLanes*d.o+oc)*hwo + yy*d.wo + x
			for l, val := range v {
				y[dst+l*d.o*hwo] = val
			}
		}
	}
}

// The weight gradient.
//
// dW[o][c][i][j] is a sum over images and output pixels of gy times the
// input pixel that tap (i, j) reads. With the images in the interleaved
// layout [N/16][HW][16][C] (ToInterleaved: pixel outer, then the 16 images
// of a block, then channels), the gradient of tap t is a matrix product over
// the pairs (pixel, image) inside the image: dW_t[o][c] = sum over k of
// G[k][o] * X[k + shift_t][c], where G is gy and X is x in that layout. For
// one output row the valid pixels are a run of consecutive k, so a kernel
// (dconvWAVX512xMxN) accumulates an M×N tile of dW_t over a list of such
// runs (segments), reading both operands in place: N channels of X as
// vectors, M of G broadcast. Taps in the padding are skipped, as in the
// forward.

// dconvWKernel accumulates C[m][nr] += sum over the segments (triples aoff,
// boff, len) and p < len of a[aoff + p*lda + r] * b[boff + p*ldb : +nr].
type dconvWKernel func(segs []int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int)

// dconvWAsm, when not nil, returns the assembly weight-gradient kernel for m
// rows of nv vectors.
var dconvWAsm func(m, nv int) dconvWKernel

// dconvWMaxRows returns the most rows of a weight-gradient tile of nv
// vectors (1, 2 or 4): what the registers hold.
func dconvWMaxRows(nv int) int { return map[int]int{1: 28, 2: 14, 4: 6}[nv] }

// dconvWRef is the plain-Go weight-gradient kernel.
func dconvWRef(m, nv int) dconvWKernel {
	nr := nv * dconvLanes
	return func(segs []int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		for s := 0; s+2 < len(segs); s += 3 {
			ao, bo, n := segs[s], segs[s+1], segs[s+2]
			for p := 0; p < n; p++ {
				bv := b[bo+p*ldb : bo+p*ldb+nr]
				for r := 0; r < m; r++ {
					av := a[ao+p*lda+r]
					cr := c[r*ldc : r*ldc+nr]
					for v, x := range bv {
						cr[v] += av * x
					}
				}
			}
		}
	}
}

func dconvWKernelFor(m, nv int) dconvWKernel {
	if dconvWAsm != nil {
		return dconvWAsm(m, nv)
	}
	return dconvWRef(m, nv)
}

// ToInterleaved writes x [N,C,HW] in the interleaved layout
// [ceil(N/16)][HW][16][C] (images past N are zero). dst must hold
// ceil(N/16)*HW*16*C floats.
//
// It panics if a slice is too short.
func ToInterleaved(x []float32, n, c, hw int, dst []float32) {
	nb := (n + dconvLanes - 1) / dconvLanes
	if len(x) < n*c*hw || len(dst) < nb*hw*c*dconvLanes {
		panic(fmt.Sprintf("kernels: ToInterleaved: %d and %d floats for %d images of %dx%d", len(x), len(dst), n, c, hw))
	}
	ParallelFor(nb*dconvLanes, max(1, 8192/(hw*c)), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, l := t/dconvLanes, t%dconvLanes
			i := b*dconvLanes + l
			// dst[b][q][l][ch] = x[i][ch][q], rows of C at stride 16C.
			base := b*hw*dconvLanes*c + l*c
			ld := dconvLanes * c
			if i >= n {
				for q := 0; q < hw; q++ {
					clear(dst[base+q*ld : base+q*ld+c])
				}
				continue
			}
			src := x[i*c*hw : (i+1)*c*hw]
			ch0 := 0
			if transpose16 != nil && hw%16 == 0 {
				for ; ch0+16 <= c; ch0 += 16 {
					for q := 0; q < hw; q += 16 {
						transpose16(&dst[base+q*ld+ch0], ld, &src[ch0*hw+q], hw)
					}
				}
			} else if transpose16 != nil {
				// Through a buffer: a 16×16 block read from 16
				// channels may run past their rows (into the next
				// ones, or past x, which the bound below excludes);
				// only its first rows are kept.
				var tmp [256]float32
				for ; ch0+16 <= c; ch0 += 16 {
					q0 := 0
					for ; q0 < hw && i*c*hw+(ch0+15)*hw+q0+16 <= len(x); q0 += 16 {
						transpose16(&tmp[0], 16, &src[ch0*hw+q0], hw)
						for q := q0; q < min(hw, q0+16); q++ {
							copy(dst[base+q*ld+ch0:base+q*ld+ch0+16], tmp[(q-q0)*16:(q-q0)*16+16])
						}
					}
					for q := q0; q < hw; q++ {
						d := dst[base+q*ld+ch0 : base+q*ld+ch0+16]
						for k := range d {
							d[k] = src[(ch0+k)*hw+q]
						}
					}
				}
			}
			for q := 0; q < hw; q++ {
				d := dst[base+q*ld : base+q*ld+c]
				for ch := ch0; ch < c; ch++ {
					d[ch] = src[ch*hw+q]
				}
			}
		}
	})
}

// DirectConvWeightGrad is the weight gradient of a stride-1, undilated
// convolution, planned for the direct kernels.
type DirectConvWeightGrad struct {
	c, h, w   int
	o, ho, wo int
	kh, kw    int
	ph, pw    int
	nv        int   // vectors per tile row: C in tiles of 16*nv channels
	mtiles    []int // rows (output channels) per tile
}

// NewDirectConvWeightGrad plans the weight gradient of the stride-1
// convolution of C-channel h×w images, zero-padded by ph, pw, with o
// filters of kh×kw.
//
// It panics if the padding is not smaller than the kernel, or C is not a
// multiple of 16.
func NewDirectConvWeightGrad(c, h, w, o, kh, kw, ph, pw int) *DirectConvWeightGrad {
	ho, wo := h+2*ph-kh+1, w+2*pw-kw+1
	if c < 1 || c%16 != 0 || o < 1 || kh < 1 || kw < 1 || ph < 0 || pw < 0 || ph >= kh || pw >= kw || ho < 1 || wo < 1 {
		panic(fmt.Sprintf("kernels: NewDirectConvWeightGrad: no direct weight gradient of %dx%dx%d by %dx%dx%d with padding %dx%d", c, h, w, o, kh, kw, ph, pw))
	}
	d := &DirectConvWeightGrad{c: c, h: h, w: w, o: o, ho: ho, wo: wo, kh: kh, kw: kw, ph: ph, pw: pw}
	switch {
	case c%64 == 0:
		d.nv = 4
	case c%32 == 0:
		d.nv = 2
	default:
		d.nv = 1
	}
	d.mtiles = rowTiles(o, dconvWMaxRows(d.nv))
	return d
}

// dconvWGroups is how many partial sums of the weight gradient the chunks
// of a large layer are split into, for the workers to share. It is fixed,
// not the worker count, so that the order of the sums is.
const dconvWGroups = 4

// dconvWChunkBytes bounds the data (gy and x) of the pixels one pass over
// all tiles reads, so that it stays in L2.
const dconvWChunkBytes = 256 << 10

// Run sets dw [O][C][KH][KW] to the weight gradient, given x in the
// interleaved layout [nb][H*W][16][C] and gy in [nb][Ho*Wo][16][O].
//
// It panics if a slice is too short.
func (d *DirectConvWeightGrad) Run(xt, gt []float32, nb int, dw []float32) {
	d.run(xt, gt, nb, dw, dconvWKernelFor)
}

func (d *DirectConvWeightGrad) run(xt, gt []float32, nb int, dw []float32, kernel func(m, nv int) dconvWKernel) {
	xs, gs := d.h*d.w*dconvLanes*d.c, d.ho*d.wo*dconvLanes*d.o
	taps := d.kh * d.kw
	if len(xt) < nb*xs || len(gt) < nb*gs || len(dw) < d.o*d.c*taps {
		panic(fmt.Sprintf("kernels: DirectConvWeightGrad.Run: %d, %d and %d floats for %d blocks", len(xt), len(gt), len(dw), nb))
	}
	nr := d.nv * dconvLanes
	kerns := make([]dconvWKernel, len(d.mtiles))
	for i, m := range d.mtiles {
		kerns[i] = kernel(m, d.nv)
	}
	o0s := make([]int, len(d.mtiles))
	for i := 1; i < len(o0s); i++ {
		o0s[i] = o0s[i-1] + d.mtiles[i-1]
	}
	nct := d.c / nr
	// dwt[t][o][c] is the gradient of tap t.
	var dwt []float32
	var bufs []*[]float32
	defer func() {
		for _, b := range bufs {
			PutScratch(b)
		}
	}()
	dataBytes, accBytes := 4*nb*(xs+gs), 4*taps*d.o*d.c
	rowBytes := 4 * d.wo * dconvLanes * (d.o + d.c)
	if dataBytes <= dconvWChunkBytes || (dconvWGroups-1)*accBytes > dataBytes {
		// Little data, or a gradient larger than the data: the workers
		// share the tiles of one gradient. The data is read whole (when
		// it fits L2) or in chunks of rows that do, one after the other;
		// each tile sums the chunks in order.
		buf := GetScratch(taps * d.o * d.c)
		bufs = append(bufs, buf)
		dwt = *buf
		clear(dwt)
		segs := make([][]int, taps)
		tiles := func() {
			ParallelFor(taps*len(d.mtiles)*nct, 1, func(lo, hi int) {
				for task := lo; task < hi; task++ {
					t, rest := task/(len(d.mtiles)*nct), task%(len(d.mtiles)*nct)
					mi, c0 := rest/nct, rest%nct*nr
					if len(segs[t]) > 0 {
						kerns[mi](segs[t], gt[o0s[mi]:], d.o, xt[c0:], d.c, dwt[(t*d.o+o0s[mi])*d.c+c0:], d.c)
					}
				}
			})
		}
		if dataBytes <= dconvWChunkBytes {
			for b := 0; b < nb; b++ {
				d.segments(segs, b, 0, d.ho)
			}
			tiles()
		} else {
			rows := max(1, min(d.ho, dconvWChunkBytes/max(1, rowBytes)))
			for b := 0; b < nb; b++ {
				for y0 := 0; y0 < d.ho; y0 += rows {
					for t := range segs {
						segs[t] = segs[t][:0]
					}
					d.segments(segs, b, y0, min(d.ho, y0+rows))
					tiles()
				}
			}
		}
	} else {
		// Chunks of output rows of one block of images, so that a
		// chunk's data stays in L2 while every tile runs over it, in
		// dconvWGroups groups of consecutive chunks. Each group sums its
		// chunks in order into its own accumulator, and the groups are
		// added in order: the result does not depend on how many workers
		// there are, nor on which runs what.
		rows := max(1, min(d.ho, dconvWChunkBytes/max(1, rowBytes)))
		for rows > 1 && nb*((d.ho+rows-1)/rows) < dconvWGroups {
			rows = (rows + 1) / 2
		}
		perBlock := (d.ho + rows - 1) / rows
		chunks := nb * perBlock
		groups := min(chunks, dconvWGroups)
		accs := make([]*[]float32, groups)
		ParallelFor(groups, 1, func(lo, hi int) {
			segs := make([][]int, taps)
			for g := lo; g < hi; g++ {
				buf := GetScratch(taps * d.o * d.c)
				accs[g] = buf
				acc := *buf
				clear(acc)
				for ch := g * chunks / groups; ch < (g+1)*chunks/groups; ch++ {
					b, y0 := ch/perBlock, ch%perBlock*rows
					for t := range segs {
						segs[t] = segs[t][:0]
					}
					d.segments(segs, b, y0, min(d.ho, y0+rows))
					for t, sg := range segs {
						if len(sg) == 0 {
							continue
						}
						for mi := range d.mtiles {
							for c0 := 0; c0 < d.c; c0 += nr {
								kerns[mi](sg, gt[o0s[mi]:], d.o, xt[c0:], d.c, acc[(t*d.o+o0s[mi])*d.c+c0:], d.c)
							}
						}
					}
				}
			}
		})
		bufs = append(bufs, accs...)
		dwt = *accs[0]
		ParallelFor(len(dwt), 1<<14, func(lo, hi int) {
			for _, b := range accs[1:] { // in order, whatever the split
				for i, v := range (*b)[lo:hi] {
					dwt[lo+i] += v
				}
			}
		})
	}
	ParallelFor(d.o, max(1, (1<<14)/(d.c*taps)), func(lo, hi int) {
		for oc := lo; oc < hi; oc++ {
			for ch := 0; ch < d.c; ch++ {
				for t := 0; t < taps; t++ {
					dw[(oc*d.c+ch)*taps+t] = dwt[(t*d.o+oc)*d.c+ch]
				}
			}
		}
	})
}

// segments appends to segs[t] the segments of tap t over output rows
// [y0, y1) of block b: one per row whose input row is inside the image, the
// run of output pixels whose input pixel is.
func (d *DirectConvWeightGrad) segments(segs [][]int, b, y0, y1 int) {
	for t := range segs {
		i, j := t/d.kw, t%d.kw
		xa, xb := max(0, d.pw-j), min(d.wo, d.w+d.pw-j)
		if xa >= xb {
			continue
		}
		for y := y0; y < y1; y++ {
			iy := y + i - d.ph
			if iy < 0 || iy >= d.h {
				continue
			}
			q, iq := y*d.wo+xa, iy*d.w+xa+j-d.pw
			segs[t] = append(segs[t], (b*d.ho*d.wo+q)*dconvLanes*d.o, (b*d.h*d.w+iq)*dconvLanes*d.c, (xb-xa)*dconvLanes)
		}
	}
}
