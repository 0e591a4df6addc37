package metrics

import (
	"math"

	"github.com/gantry-go/gantry/tensor"
)

// The image operations below are what the Inception extractor needs and
// package tensor does not offer yet (max pooling, average pooling with stride,
// padding and count_include_pad=false, bilinear resizing). They are
// inference-only loops over raw data, private to this package; they should
// give way to tensor (and autograd) operations when those exist.

// maxPool3 returns the maximum over 3×3 windows of [N, C, H, W] x with the
// given stride, padding with -Inf (torch.nn.functional.max_pool2d).
func maxPool3(x *tensor.Tensor, stride, pad int) *tensor.Tensor {
	s := x.Shape()
	h, w := s[2], s[3]
	oh, ow := (h+2*pad-3)/stride+1, (w+2*pad-3)/stride+1
	out := tensor.New(s[0], s[1], oh, ow)
	src, dst := x.Data(), out.Data()
	for p := range s[0] * s[1] {
		in := src[p*h*w : (p+1)*h*w]
		o := dst[p*oh*ow : (p+1)*oh*ow]
		for i := range oh {
			for j := range ow {
				m := float32(math.Inf(-1))
				for di := range 3 {
					y := i*stride - pad + di
					if y < 0 || y >= h {
						continue
					}
					for dj := range 3 {
						xx := j*stride - pad + dj
						if xx < 0 || xx >= w {
							continue
						}
						m = max(m, in[y*w+xx])
					}
				}
				o[i*ow+j] = m
			}
		}
	}
	return out
}

// avgPool3Same returns the mean over 3×3 windows of stride 1 and padding 1
// of [N, C, H, W] x, counting only the pixels inside the image
// (avg_pool2d with count_include_pad=False).
func avgPool3Same(x *tensor.Tensor) *tensor.Tensor {
	s := x.Shape()
	h, w := s[2], s[3]
	out := tensor.New(s...)
	src, dst := x.Data(), out.Data()
	for p := range s[0] * s[1] {
		in := src[p*h*w : (p+1)*h*w]
		o := dst[p*h*w : (p+1)*h*w]
		for i := range h {
			y0, y1 := max(i-1, 0), min(i+1, h-1)
			for j := range w {
				x0, x1 := max(j-1, 0), min(j+1, w-1)
				var sum float32
				for y := y0; y <= y1; y++ {
					for xx := x0; xx <= x1; xx++ {
						sum += in[y*w+xx]
					}
				}
				o[i*w+j] = sum / float32((y1-y0+1)*(x1-x0+1))
			}
		}
	}
	return out
}

// resizeBilinear resizes [N, C, H, W] x to [N, C, oh, ow] by bilinear
// interpolation with align_corners false and no antialiasing
// (torch.nn.functional.interpolate(mode="bilinear")), as two matrix
// products: R_h · x · R_wᵀ.
func resizeBilinear(x *tensor.Tensor, oh, ow int) *tensor.Tensor {
	s := x.Shape()
	if s[2] == oh && s[3] == ow {
		return x
	}
	rw := interpMatrix(s[3], ow) // [ow, W]
	rh := interpMatrix(s[2], oh) // [oh, H]
	y := tensor.MatMulT(x, rw, false, true)
	return tensor.MatMul(rh, y)
}

// interpMatrix returns the [out, in] matrix of linear interpolation weights
// from in samples to out.
func interpMatrix(in, out int) *tensor.Tensor {
	m := tensor.New(out, in)
	d := m.Data()
	scale := float64(in) / float64(out)
	for j := range out {
		src := max((float64(j)+0.5)*scale-0.5, 0)
		i0 := int(src)
		i1 := min(i0+1, in-1)
		l1 := src - float64(i0)
		d[j*in+i0] += float32(1 - l1)
		d[j*in+i1] += float32(l1)
	}
	return m
}
