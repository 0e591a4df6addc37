package kernels

// ConvGeom describes a 2-D convolution over one image of C channels and
// H×W pixels with a KH×KW kernel: strides SH, SW, zero padding PH, PW and
// dilations DH, DW. Ho and Wo are the output height and width.
type ConvGeom struct {
	C, H, W int
	KH, KW  int
	SH, SW  int
	PH, PW  int
	DH, DW  int
	Ho, Wo  int
}

// OutSize returns the output extent of a convolution along one axis, which
// may be zero or negative when the kernel does not fit.
func OutSize(in, k, stride, pad, dil int) int {
	return (in+2*pad-dil*(k-1)-1)/stride + 1
}

// validRange returns the output columns [xa, xb) whose input column
// ix0 + x*s lies inside [0, w).
func validRange(ix0, s, w, wo int) (xa, xb int) {
	if ix0 >= w {
		return 0, 0
	}
	if ix0 < 0 {
		xa = min((-ix0+s-1)/s, wo)
	}
	xb = max(min(wo, (w-ix0+s-1)/s), xa)
	return xa, xb
}

// Im2col writes the patches of one image src [C,H,W] into the columns
// col0..col0+Ho*Wo of the matrix dst with C*KH*KW rows and leading dimension
// ld: row (c*KH+i)*KW+j, column col0 + y*Wo + x holds
// src[c, y*SH-PH+i*DH, x*SW-PW+j*DW], or 0 outside the image.
func Im2col(g ConvGeom, src []float32, dst []float32, ld, col0 int) {
	hw := g.Ho * g.Wo
	if plane1x1(g) {
		for c := 0; c < g.C; c++ {
			copy(dst[c*ld+col0:c*ld+col0+hw], src[c*hw:(c+1)*hw])
		}
		return
	}
	if g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.Wo == g.W {
		im2colSameWidth(g, src, dst, ld, col0)
		return
	}
	g.eachTap(func(c, i, row, ix0, xa, xb int) {
		img := src[c*g.H*g.W : (c+1)*g.H*g.W]
		d := dst[row*ld+col0 : row*ld+col0+hw]
		for y := 0; y < g.Ho; y++ {
			iy := y*g.SH - g.PH + i*g.DH
			dr := d[y*g.Wo : (y+1)*g.Wo]
			if iy < 0 || iy >= g.H {
				clear(dr)
				continue
			}
			sr := img[iy*g.W : (iy+1)*g.W]
			clear(dr[:xa])
			if g.SW == 1 && xa < xb {
				copy(dr[xa:xb], sr[ix0+xa:ix0+xb])
			} else if g.SW > 1 {
				for x := xa; x < xb; x++ {
					dr[x] = sr[ix0+x*g.SW]
				}
			}
			clear(dr[xb:])
		}
	})
}

// eachTap calls fn for every row of the im2col matrix of g: the channel c
// and kernel row i of the tap, the matrix row (c*KH+i)*KW+j, the input
// column ix0 = j*DW-PW of output column 0, and the output columns [xa, xb)
// whose input column lies inside the image.
func (g ConvGeom) eachTap(fn func(c, i, row, ix0, xa, xb int)) {
	for c := 0; c < g.C; c++ {
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				ix0 := j*g.DW - g.PW
				xa, xb := validRange(ix0, g.SW, g.W, g.Wo)
				fn(c, i, (c*g.KH+i)*g.KW+j, ix0, xa, xb)
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it adds each column entry back into the
// pixel of dst [C,H,W] it was read from. dst is accumulated into, not
// overwritten.
func Col2im(g ConvGeom, col []float32, ld, col0 int, dst []float32) {
	hw := g.Ho * g.Wo
	if plane1x1(g) {
		for c := 0; c < g.C; c++ {
			d := dst[c*hw : (c+1)*hw]
			for x, v := range col[c*ld+col0 : c*ld+col0+hw] {
				d[x] += v
			}
		}
		return
	}
	g.eachTap(func(c, i, row, ix0, xa, xb int) {
		img := dst[c*g.H*g.W : (c+1)*g.H*g.W]
		s := col[row*ld+col0 : row*ld+col0+hw]
		for y := 0; y < g.Ho; y++ {
			iy := y*g.SH - g.PH + i*g.DH
			if iy < 0 || iy >= g.H {
				continue
			}
			dr := img[iy*g.W : (iy+1)*g.W]
			sr := s[y*g.Wo : (y+1)*g.Wo]
			if g.SW == 1 && xa < xb {
				d := dr[ix0+xa : ix0+xb]
				for x, v := range sr[xa:xb] {
					d[x] += v
				}
			} else if g.SW > 1 {
				for x := xa; x < xb; x++ {
					dr[ix0+x*g.SW] += sr[x]
				}
			}
		}
	})
}

// plane1x1 reports whether g is a 1×1, stride-1, unpadded convolution,
// whose im2col rows are the channel planes themselves.
func plane1x1(g ConvGeom) bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PH == 0 && g.PW == 0
}

// im2colSameWidth is Im2col for a stride-1, undilated convolution whose
// output is as wide as its input (2*PW = KW-1). Then the valid output rows of
// each im2col row are one contiguous run of the image shifted by
// (i-PH)*W + j-PW, copied at once, and only the |j-PW| columns at one edge
// of each row, which the shift wraps onto the neighbouring image row, are
// zeroed after: for small images, a few long copies instead of a short
// copy per row.
func im2colSameWidth(g ConvGeom, src []float32, dst []float32, ld, col0 int) {
	w, hw, n := g.W, g.Ho*g.W, g.H*g.W
	for c := 0; c < g.C; c++ {
		img := src[c*n : (c+1)*n]
		for i := 0; i < g.KH; i++ {
			ya, yb := max(0, g.PH-i), min(g.Ho, g.H+g.PH-i)
			for j := 0; j < g.KW; j++ {
				row := ((c*g.KH+i)*g.KW + j) * ld
				d := dst[row+col0 : row+col0+hw]
				if ya >= yb {
					clear(d)
					continue
				}
				clear(d[:ya*w])
				clear(d[yb*w:])
				s := j - g.PW
				base := (ya-g.PH+i)*w + s // img index of d[ya*w]
				lo, hi := max(0, -base), min((yb-ya)*w, n-base)
				if lo < hi {
					copy(d[ya*w+lo:ya*w+hi], img[base+lo:base+hi])
				}
				e := min(abs(s), w)
				for y := ya; y < yb; y++ {
					if s < 0 {
						clear(d[y*w : y*w+e])
					} else if s > 0 {
						clear(d[(y+1)*w-e : (y+1)*w])
					}
				}
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
