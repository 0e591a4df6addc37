package kernels

// ConvGeom describes a 2-D convolution over one image of c channels and
// h×w pixels with a kh×kw kernel: strides sh, sw, zero padding ph, pw and
// dilations dh, dw. Ho and Wo are the output height and width.
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
				for y := 0; y < g.Ho; y++ {
					iy := y*g.SH - g.PH + i*g.DH
					dr := d[y*g.Wo : (y+1)*g.Wo]
					if iy < 0 || iy >= g.H {
						clear(dr)
						continue
					}
					sr := img[iy*g.W : (iy+1)*g.W]
					ix := j*g.DW - g.PW
					if g.SW == 1 && ix >= 0 && ix+g.Wo <= g.W {
						copy(dr, sr[ix:ix+g.Wo])
						continue
					}
					for x := range dr {
						if ix >= 0 && ix < g.W {
							dr[x] = sr[ix]
						} else {
							dr[x] = 0
						}
						ix += g.SW
					}
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
				for y := 0; y < g.Ho; y++ {
					iy := y*g.SH - g.PH + i*g.DH
					if iy < 0 || iy >= g.H {
						continue
					}
					dr := img[iy*g.W : (iy+1)*g.W]
					sr := s[y*g.Wo : (y+1)*g.Wo]
					ix := j*g.DW - g.PW
					if g.SW == 1 && ix >= 0 && ix+g.Wo <= g.W {
						d := dr[ix : ix+g.Wo]
						for x, v := range sr {
							d[x] += v
						}
						continue
					}
					for _, v := range sr {
						if ix >= 0 && ix < g.W {
							dr[ix] += v
						}
						ix += g.SW
					}
				}
			}
		}
	}
}
