package kernels

import (
	"sync"
	"unsafe"
)

// The blocked GEMM follows the GotoBLAS/BLIS design. op(B) is cut into
// column blocks of nc and row blocks of kc, each packed into nr-wide
// micro-panels; op(A) is cut into row blocks of mc, each packed into mr-tall
// micro-panels. A microkernel then computes one mr×nr tile of C from one
// micro-panel of each, with the kc-long reduction held in registers. Packing
// absorbs the four transpose cases and pads partial panels with zeros, so the
// microkernels only ever compute whole tiles; a tile that overhangs C is
// computed into scratch and merged (mergeTile).
//
// A is packed one of two ways. By columns (a[p*mr+r], the classic layout) when
// A is stored transposed, where each step is a contiguous copy; by rows
// (a[r*ars+p]) when it is not, so that packing is a row copy rather than a
// transpose and the microkernel broadcasts from mr rows at fixed offsets. B is
// packed by nr-wide rows, except that an untransposed B is read in place when
// m is small (gemmDirectBMaxM); when B is stored transposed packing takes a
// transpose of 16×16 (AVX-512) or 8×8 (AVX2) blocks.
//
// Scratch buffers come from a free list backed by a sync.Pool (getScratch),
// so a steady stream of calls does not allocate.
//
// Work is split between workers by cutting C into independent blocks of rows
// or columns; each worker packs its own panels, so workers never wait on each
// other until the end.

// gemmKernel is a microkernel and the blocking it is tuned for.
type gemmKernel struct {
	name   string
	isa    string  // instruction set; kernels of one set are alternatives
	speed  float64 // relative throughput on whole tiles within its set
	mr, nr int     // tile computed per call
	mc, kc int     // block of op(A) packed per call of the macro loop (L2)
	nc     int     // block of op(B) packed (L3)

	// tile computes C = alpha*Ap*Bp + beta*C for one whole mr×nr tile, where
	// Ap holds kc columns of mr values and Bp kc rows of nr values. When beta
	// is 0, C is not read. c[0] is the tile's top-left element and ldc the
	// distance between its rows.
	tile func(kc int, a, b, c []float32, ldc int, alpha, beta float32)

	// tileRows, when not nil, is tile for Ap packed by rows: row r of the
	// micro-panel starts at a[r*ars]. Packing A by rows is a plain copy when
	// A is not transposed, where the column layout needs a transpose.
	tileRows func(kc int, a, b, c []float32, ldc int, alpha, beta float32)
	ars      int

	// tileRowsB, when not nil, is tileRows reading B in place, row p of
	// the micro-panel at b[p*ldb:], for an untransposed B. Packing B costs
	// as much as the product when m is a small channel count; then B is
	// read where it lies (see gemmDirectBMaxM).
	tileRowsB func(kc int, a, b, c []float32, ldc int, alpha, beta float32, ldb int)
	tileB     func(kc int, a, b, c []float32, ldc int, alpha, beta float32, ldb int) // A by columns, B in place

	// Optional vector helpers for packing; nil means plain Go.
	// copyMasked copies rows of up to 16 floats: for each of rows rows,
	// the lanes of lmask are read from src (the others read as zero) and
	// the lanes of smask are written to dst. It needs nr%16 == 0 and
	// mr <= 16. transpose transposes a tsize×tsize block:
	// dst[i*lddst+j] = src[j*ldsrc+i]; it needs nr%tsize == 0.
	copyMasked func(dst *float32, lddst int, src *float32, ldsrc int, rows int, lmask, smask uint16)
	transpose  func(dst *float32, lddst int, src *float32, ldsrc int)
	tsize      int
}

// gemmScratch holds one worker's packing buffers.
type gemmScratch struct {
	a, b, t []float32
}

// Scratch buffers are a few MiB each. A sync.Pool alone loses them at every
// garbage collection, and reallocating them is itself what triggers the next
// collection, so a small free list that the collector does not empty comes
// first, with the pool behind it for bursts of concurrent calls.
var (
	gemmScratchFree = make(chan *gemmScratch, 4)
	gemmScratchPool sync.Pool
)

func putScratch(s *gemmScratch) {
	select {
	case gemmScratchFree <- s:
	default:
		gemmScratchPool.Put(s)
	}
}

func getScratch(kern *gemmKernel) *gemmScratch {
	na, nb, nt := scratchSizes(kern)
	var s *gemmScratch
	select {
	case s = <-gemmScratchFree:
	default:
		s, _ = gemmScratchPool.Get().(*gemmScratch)
	}
	if s != nil {
		if cap(s.a) >= na && cap(s.b) >= nb && cap(s.t) >= nt {
			s.a, s.b, s.t = s.a[:na], s.b[:nb], s.t[:nt]
			return s
		}
	}
	// Size new buffers for every kernel, so that calls with different
	// kernels can share them, and align them to a cache line.
	for _, k := range gemmKernels() {
		ka, kb, kt := scratchSizes(k)
		na, nb, nt = max(na, ka), max(nb, kb), max(nt, kt)
	}
	return &gemmScratch{a: alignedFloats(na), b: alignedFloats(nb), t: alignedFloats(nt)}
}

// scratchSizes returns the packing buffer sizes kern needs.
func scratchSizes(kern *gemmKernel) (na, nb, nt int) {
	na = kern.mc * max(kern.kc, kern.ars)
	nb = kern.kc * ((kern.nc + kern.nr - 1) / kern.nr * kern.nr)
	return na, nb, kern.mr * kern.nr
}

// alignedFloats returns n float32s starting on a 64-byte boundary.
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := 0
	for off < 16 && !aligned64(s[off:]) {
		off++
	}
	return s[off : off+n : off+n]
}

func aligned64(s []float32) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(s)))%64 == 0
}

// gemmSerialFlops is the size (m*n*k) below which a GEMM runs on the calling
// goroutine alone.
const gemmSerialFlops = 48 * 48 * 48

// gemmBlocked computes the whole product with kern, spreading it over the
// workers. The arguments are already checked, and m, n > 0.
func gemmBlocked(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bOff []int, beta float32, c []float32, ldc int) {
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	w := Workers()
	if m*n*k < gemmSerialFlops {
		w = 1
	}

	// Cut C into w blocks along the dimension with more tiles, so each
	// worker gets whole tiles and a fair share.
	mt := (m + kern.mr - 1) / kern.mr
	nt := (n + kern.nr - 1) / kern.nr
	if w <= 1 || (mt < 2 && nt < 2) {
		gemmSerial(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, bOff, beta, c, ldc)
		return
	}
	g, _ := gemmCallPool.Get().(*gemmCall)
	if g == nil {
		g = new(gemmCall)
	}
	*g = gemmCall{kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, bOff, beta, c, ldc, nt >= mt || nt >= 2*w, nil}
	tiles, unit := mt, kern.mr
	if g.splitN {
		tiles, unit = nt, kern.nr
	}
	parallelSplit(tiles, gemmChunkTiles(tiles, unit, w), g)
	*g = gemmCall{}
	gemmCallPool.Put(g)
}

// gemmChunkTiles returns how many tiles (of unit rows or columns) each
// parallel block of C gets. Up to four blocks per worker let an idle core
// take over from one that is shared with other work, but every block packs
// the other operand again, so blocks keep at least 512 rows or columns.
func gemmChunkTiles(tiles, unit, w int) int {
	chunks := min(4*w, tiles/max(1, 512/unit))
	chunks = max(chunks, min(w, tiles))
	return (tiles + chunks - 1) / chunks
}

// gemmDotParallel runs the dot path over the workers, split by columns, or by
// rows when there are too few columns. The arguments are checked, m, n > 0,
// and useDot holds.
func gemmDotParallel(dot *dotKernel, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bOff []int, beta float32, c []float32, ldc int) {
	mt, nt := (m+dot.ti-1)/dot.ti, (n+dot.tj-1)/dot.tj
	if Workers() <= 1 || (mt < 2 && nt < 2) || m*n*k < gemmSerialFlops {
		gemmDotRange(dot, 0, m, 0, n, k, alpha, a, lda, b, ldb, bOff, beta, c, ldc)
		return
	}
	g, _ := gemmCallPool.Get().(*gemmCall)
	if g == nil {
		g = new(gemmCall)
	}
	*g = gemmCall{m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, bOff: bOff, beta: beta, c: c, ldc: ldc, splitN: nt >= 2, dot: dot}
	if g.splitN {
		parallelRun(nt, 1, g)
	} else {
		parallelRun(mt, 1, g)
	}
	*g = gemmCall{}
	gemmCallPool.Put(g)
}

// gemmCall is one parallel GEMM; run computes the block of C made of tiles
// [lo, hi) of columns (splitN) or rows. It is pooled, so that a call does not
// allocate.
type gemmCall struct {
	kern           *gemmKernel
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	bOff           []int // row starts of the stored B, or nil for r*ldb
	beta           float32
	c              []float32
	ldc            int
	splitN         bool
	dot            *dotKernel // the dot path, on its tiles
}

var gemmCallPool sync.Pool

func (g *gemmCall) run(lo, hi int) {
	if g.dot != nil {
		d := g.dot
		if g.splitN {
			gemmDotRange(d, 0, g.m, d.tj*lo, min(d.tj*hi, g.n), g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.bOff, g.beta, g.c, g.ldc)
		} else {
			gemmDotRange(d, d.ti*lo, min(d.ti*hi, g.m), 0, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.bOff, g.beta, g.c, g.ldc)
		}
		return
	}
	kern := g.kern
	if g.splitN {
		j0, j1 := lo*kern.nr, min(hi*kern.nr, g.n)
		b, bOff := g.b[j0:], g.bOff // columns j0.. of op(B)
		if g.transB {
			if bOff != nil {
				b, bOff = g.b, bOff[j0:]
			} else {
				b = g.b[j0*g.ldb:]
			}
		}
		gemmSerial(kern, g.transA, g.transB, g.m, j1-j0, g.k, g.alpha, g.a, g.lda, b, g.ldb, bOff, g.beta, g.c[j0:], g.ldc)
		return
	}
	i0, i1 := lo*kern.mr, min(hi*kern.mr, g.m)
	var a []float32 // rows i0.. of op(A)
	if g.transA {
		a = g.a[i0:]
	} else {
		a = g.a[i0*g.lda:]
	}
	gemmSerial(kern, g.transA, g.transB, i1-i0, g.n, g.k, g.alpha, a, g.lda, g.b, g.ldb, g.bOff, g.beta, g.c[i0*g.ldc:], g.ldc)
}

// gemmDirectBMaxM is the largest m for which an untransposed B is read in
// place rather than packed. Each packed element of B serves m rows of C, so
// packing pays off only when m is large: on Zen 4, reading in place is 1.6x
// faster at m = 16, 1.5x at 32 and 64, 1.1x at 128, and even at 256.
const gemmDirectBMaxM = 256

// Reading B in place loses when its rows are far apart (ldb beyond
// gemmDirectBMaxLD floats): the microkernel then touches a new page for
// every row. There, on Zen 4, with n = 16384, packing is 1.2x faster at
// m = 48 and 64 and 1.5x at 128 and 256, ties at m = 32 and loses at m = 16
// (0.6x), so only up to gemmDirectBWideMaxM rows is B read in place.
const (
	gemmDirectBMaxLD    = 4096
	gemmDirectBWideMaxM = 32
)

// gemmSerial is the blocked GEMM on one goroutine, for k > 0. When bOff is
// not nil, row r of the stored B starts at b[bOff[r]] instead of b[r*ldb].
// For an untransposed B, each kc block of the reduction then covers only rows
// whose starts are evenly spaced (bRun), so that it is an ordinary strided
// block of B.
func gemmSerial(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bOff []int, beta float32, c []float32, ldc int) {
	s := getScratch(kern)
	defer putScratch(s)
	mr, nr := kern.mr, kern.nr
	tileB := kern.tileRowsB // with B in place
	if transA {
		tileB = kern.tileB
	}
	directOK := !transB && tileB != nil
	for jc := 0; jc < n; jc += kern.nc {
		nb := min(kern.nc, n-jc)
		for pc := 0; pc < k; {
			kb := min(kern.kc, k-pc)
			// The block of B: rows pc.. of the stored B start at
			// bb[(p-pc)*ldbb] (untransposed), or row j at bb[bRow(j)].
			bb, ldbb, pb := b, ldb, pc
			if bOff != nil && !transB {
				var run int
				run, ldbb = bRun(bOff[pc:pc+kb], ldb)
				kb = run
				bb, pb = b[bOff[pc]:], 0
			}
			direct := directOK && (m <= gemmDirectBWideMaxM || m <= gemmDirectBMaxM && ldbb <= gemmDirectBMaxLD)
			if direct {
				// Only a partial last panel is packed.
				if q := nb / nr * nr; q < nb {
					packBN(kern, s.b[q*kb:], bb, ldbb, pb, jc+q, kb, nb-q)
				}
			} else if transB {
				packBT(kern, s.b, b, ldb, bOff, pc, jc, kb, nb)
			} else {
				packBN(kern, s.b, bb, ldbb, pb, jc, kb, nb)
			}
			bet := beta
			if pc > 0 {
				bet = 1
			}
			for ic := 0; ic < m; ic += kern.mc {
				mb := min(kern.mc, m-ic)
				tile, astride := kern.tile, kb // A panel q at s.a[q*astride:]
				switch {
				case transA:
					packAT(kern, s.a, a, lda, ic, pc, mb, kb)
				case kern.tileRows != nil:
					packANRows(s.a, a, lda, ic, pc, mb, kb, mr, kern.ars)
					tile, astride = kern.tileRows, kern.ars
				default:
					packAN(s.a, a, lda, ic, pc, mb, kb, mr)
				}
				for jr := 0; jr < nb; jr += nr {
					nn := min(nr, nb-jr)
					bp := s.b[jr*kb : (jr+nr)*kb]
					for ir := 0; ir < mb; ir += mr {
						mm := min(mr, mb-ir)
						ap := s.a[ir*astride : (ir+mr)*astride]
						co := (ic+ir)*ldc + jc + jr
						if direct && nn == nr {
							bd := bb[pb*ldbb+jc+jr:]
							if mm == mr {
								tileB(kb, ap, bd, c[co:], ldc, alpha, bet, ldbb)
							} else {
								tileB(kb, ap, bd, s.t, nr, 1, 0, ldbb)
								mergeTile(mm, nn, alpha, s.t, nr, bet, c[co:], ldc)
							}
							continue
						}
						if mm == mr && nn == nr {
							tile(kb, ap, bp, c[co:], ldc, alpha, bet)
							continue
						}
						tile(kb, ap, bp, s.t, nr, 1, 0)
						mergeTile(mm, nn, alpha, s.t, nr, bet, c[co:], ldc)
					}
				}
			}
			pc += kb
		}
	}
}

// bRun returns how many of the rows starting at off (at least one) are evenly
// spaced, and their spacing (ld when there is a single row). A spacing below
// one ends a run, since the kernels step through B forwards.
func bRun(off []int, ld int) (rows, spacing int) {
	if len(off) < 2 || off[1]-off[0] < 1 {
		return 1, ld
	}
	d := off[1] - off[0]
	rows = 2
	for rows < len(off) && off[rows]-off[rows-1] == d {
		rows++
	}
	return rows, d
}

// mergeTile sets C = alpha*T + beta*C on an m×n window; C is not read when
// beta is 0.
func mergeTile(m, n int, alpha float32, t []float32, ldt int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ti := t[i*ldt : i*ldt+n]
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			for j, v := range ti {
				ci[j] = alpha * v
			}
		} else {
			for j, v := range ti {
				ci[j] = alpha*v + beta*ci[j]
			}
		}
	}
}

// scaleC sets C = beta*C (or 0 when beta is 0) on the m×n window.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
			continue
		}
		for j := range ci {
			ci[j] *= beta
		}
	}
}

// packAN packs rows [i0, i0+mb) and columns [p0, p0+kb) of a row-major A
// into mr-tall micro-panels: panel q holds, for each p, the mr values
// A[i0+q*mr+r][p0+p], zero-padded past mb.
func packAN(dst, a []float32, lda, i0, p0, mb, kb, mr int) {
	for q := 0; q < mb; q += mr {
		panel := dst[q*kb : (q+mr)*kb]
		rows := min(mr, mb-q)
		for r := 0; r < rows; r++ {
			src := a[(i0+q+r)*lda+p0 : (i0+q+r)*lda+p0+kb]
			for p, v := range src {
				panel[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kb; p++ {
				panel[p*mr+r] = 0
			}
		}
	}
}

// packANRows packs the same block as packAN by rows: row i of the block
// starts at dst[i*ars], and rows past mb (up to a multiple of mr) are zero.
func packANRows(dst, a []float32, lda, i0, p0, mb, kb, mr, ars int) {
	for i := 0; i < mb; i++ {
		o := (i0+i)*lda + p0
		copy(dst[i*ars:i*ars+kb], a[o:o+kb])
	}
	for i := mb; i%mr != 0; i++ {
		clear(dst[i*ars : i*ars+kb])
	}
}

// packAT is packAN for A stored transposed (k×m row-major), so that
// op(A)[i][p] = A[p][i]: each step of a panel is a contiguous copy.
func packAT(kern *gemmKernel, dst, a []float32, lda, i0, p0, mb, kb int) {
	mr := kern.mr
	for q := 0; q < mb; q += mr {
		panel := dst[q*kb : (q+mr)*kb]
		rows := min(mr, mb-q)
		o := p0*lda + i0 + q
		if kern.copyMasked != nil {
			_ = a[o+(kb-1)*lda+rows-1]
			kern.copyMasked(&panel[0], mr, &a[o], lda, kb, lanes(rows), lanes(mr))
			continue
		}
		for p := 0; p < kb; p++ {
			d := panel[p*mr : p*mr+mr]
			copy(d, a[o+p*lda:o+p*lda+rows])
			clear(d[rows:])
		}
	}
}

// lanes is the mask of the first n of 16 lanes.
func lanes(n int) uint16 { return uint16(1<<n - 1) }

// packBN packs rows [p0, p0+kb) and columns [j0, j0+nb) of a row-major B into
// nr-wide micro-panels: panel q holds, for each p, the nr values
// B[p0+p][j0+q*nr+c], zero-padded past nb.
func packBN(kern *gemmKernel, dst, b []float32, ldb, p0, j0, kb, nb int) {
	nr := kern.nr
	for q := 0; q < nb; q += nr {
		panel := dst[q*kb : (q+nr)*kb]
		cols := min(nr, nb-q)
		o := p0*ldb + j0 + q
		if kern.copyMasked != nil {
			_ = b[o+(kb-1)*ldb+cols-1]
			for c := 0; c < nr; c += 16 {
				n := min(max(cols-c, 0), 16)
				src := &b[o] // no lane is read when n == 0
				if n > 0 {
					src = &b[o+c]
				}
				kern.copyMasked(&panel[c], nr, src, ldb, kb, lanes(n), 0xffff)
			}
			continue
		}
		for p := 0; p < kb; p++ {
			d := panel[p*nr : p*nr+nr]
			copy(d, b[o+p*ldb:o+p*ldb+cols])
			clear(d[cols:])
		}
	}
}

// packBT is packBN for B stored transposed (n×k row-major), so that
// op(B)[p][j] = B[j][p]. Whole square blocks go through kern.transpose when
// there is one.
//
// When bOff is not nil, row r of the stored B starts at b[bOff[r]]; square
// blocks whose rows are evenly spaced still go through kern.transpose.
func packBT(kern *gemmKernel, dst, b []float32, ldb int, bOff []int, p0, j0, kb, nb int) {
	nr := kern.nr
	row := func(r int) int {
		if bOff != nil {
			return bOff[r]
		}
		return r * ldb
	}
	for q := 0; q < nb; q += nr {
		panel := dst[q*kb : (q+nr)*kb]
		cols := min(nr, nb-q)
		j := 0
		if t := kern.tsize; kern.transpose != nil {
			for ; j+t <= cols; j += t {
				r0 := j0 + q + j
				ld := ldb
				if bOff != nil {
					run, d := bRun(bOff[r0:r0+t], ldb)
					if run < t {
						break // the rest is copied element by element
					}
					ld = d
				}
				p := 0
				for ; p+t <= kb; p += t {
					o := row(r0) + p0 + p
					_ = b[o+(t-1)*ld+t-1]
					_ = panel[(p+t-1)*nr+j+t-1]
					kern.transpose(&panel[p*nr+j], nr, &b[o], ld)
				}
				for ; p < kb; p++ {
					for jj := j; jj < j+t; jj++ {
						panel[p*nr+jj] = b[row(j0+q+jj)+p0+p]
					}
				}
			}
		}
		for ; j < cols; j++ {
			o := row(j0+q+j) + p0
			src := b[o : o+kb]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kb; p++ {
				panel[p*nr+j] = 0
			}
		}
	}
}
