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
	for c := 0; c < g.C; c++ {
		img := src[c*g.H*g.W : (c+1)*g.H*g.W]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				row := ((c*g.KH+i)*g.KW + j) * ld
				d := dst[row+col0 : row+col0+hw]
				ix0 := j*g.DW - g.PW
				xa, xb := validRange(ix0, g.SW, g.W, g.Wo)
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
			}
		}
	}
}

// Col2im is the adjoint of Im2col: it adds each column entry back into the
// pixel of dst [C,H,W] it was read from. dst is accumulated into, not
// overwritten.
func Col2im(g ConvGeom, col []float32, ld, col0 int, dst []float32) {
	hw := g.Ho * g.Wo
	for c := 0; c < g.C; c++ {
		img := dst[c*g.H*g.W : (c+1)*g.H*g.W]
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				row := ((c*g.KH+i)*g.KW + j) * ld
				s := col[row+col0 : row+col0+hw]
				ix0 := j*g.DW - g.PW
				xa, xb := validRange(ix0, g.SW, g.W, g.Wo)
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
			}
		}
	}
}
