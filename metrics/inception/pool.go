package inception

import (
	"fmt"

	"github.com/gantry-go/gantry/internal/kernels"
	"github.com/gantry-go/gantry/tensor"
)

// The network pools only 3×3 windows: max pools with stride 2 and no
// padding, and stride-1 pools with padding 1 (average without counting the
// padding, or max). These separable versions (three-wide sums or maxima
// along rows, then along columns) give the results of tensor.AvgPool2dWith
// and tensor.MaxPool2d up to the order of additions, several times faster;
// pool_test.go checks them against those.

// poolGrain is the number of elements a parallel chunk of planes should
// hold at least.
const poolGrain = 1 << 14

// avgPool3 averages the 3×3 windows (stride 1, padding 1) of x [N,C,H,W],
// dividing by the number of pixels inside the image, as
// F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).
func avgPool3(x *tensor.Tensor) *tensor.Tensor {
	sh := x.Shape()
	if len(sh) != 4 {
		panic(fmt.Sprintf("inception: avgPool3: input %v is not [N,C,H,W]", sh))
	}
	h, w := sh[2], sh[3]
	planes, hw := sh[0]*sh[1], h*w
	out := tensor.New(sh...)
	src, dst := x.Data(), out.Data()
	// inv[i*w+j] is 1 over the number of pixels of the window at (i, j).
	inv := make([]float32, hw)
	span := func(i, n int) int { return min(i+1, n-1) - max(i-1, 0) + 1 }
	for i := range h {
		for j := range w {
			inv[i*w+j] = 1 / float32(span(i, h)*span(j, w))
		}
	}
	kernels.ParallelFor(planes, max(1, poolGrain/max(1, hw)), func(lo, hi int) {
		rows := make([]float32, hw) // three-wide row sums
		for p := lo; p < hi; p++ {
			in, o := src[p*hw:(p+1)*hw], dst[p*hw:(p+1)*hw]
			for i := range h {
				r, s := in[i*w:(i+1)*w], rows[i*w:(i+1)*w]
				for j := range w {
					v := r[j]
					if j > 0 {
						v += r[j-1]
					}
					if j+1 < w {
						v += r[j+1]
					}
					s[j] = v
				}
			}
			for i := range h {
				s := rows[i*w : (i+1)*w]
				var up, down []float32
				if i > 0 {
					up = rows[(i-1)*w : i*w]
				}
				if i+1 < h {
					down = rows[(i+1)*w : (i+2)*w]
				}
				oi, vi := o[i*w:(i+1)*w], inv[i*w:(i+1)*w]
				for j := range w {
					v := s[j]
					if up != nil {
						v += up[j]
					}
					if down != nil {
						v += down[j]
					}
					oi[j] = v * vi[j]
				}
			}
		}
	})
	return out
}

// maxPool3 returns the maxima of the 3×3 windows of x [N,C,H,W] with the
// given stride and padding (padding never wins; a NaN in a window wins), as
// F.max_pool2d(x, 3, stride, pad).
func maxPool3(x *tensor.Tensor, stride, pad int) *tensor.Tensor {
	sh := x.Shape()
	if len(sh) != 4 || stride < 1 || pad < 0 || pad > 1 {
		panic(fmt.Sprintf("inception: maxPool3: input %v, stride %d, padding %d", sh, stride, pad))
	}
	h, w := sh[2], sh[3]
	oh, ow := (h+2*pad-3)/stride+1, (w+2*pad-3)/stride+1
	if h+2*pad < 3 || w+2*pad < 3 {
		panic(fmt.Sprintf("inception: maxPool3: a 3x3 window does not fit input %v with padding %d", sh, pad))
	}
	planes := sh[0] * sh[1]
	out := tensor.New(sh[0], sh[1], oh, ow)
	src, dst := x.Data(), out.Data()
	kernels.ParallelFor(planes, max(1, poolGrain/max(1, h*w)), func(lo, hi int) {
		rows := make([]float32, h*ow) // maxima over three columns
		for p := lo; p < hi; p++ {
			in, o := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
			for y := range h {
				r, s := in[y*w:(y+1)*w], rows[y*ow:(y+1)*ow]
				for j := range ow {
					x0 := j*stride - pad
					s[j] = max3(r, x0, w, 1)
				}
			}
			for i := range oh {
				y0 := i*stride - pad
				oi := o[i*ow : (i+1)*ow]
				for j := range ow {
					oi[j] = max3(rows[j:], y0, h, ow)
				}
			}
		}
	})
	return out
}

// max3 returns the largest of v[k*step] for k in [i0, i0+3) ∩ [0, n); a NaN
// wins.
func max3(v []float32, i0, n, step int) float32 {
	lo, hi := max(i0, 0), min(i0+3, n)
	m := v[lo*step]
	for k := lo + 1; k < hi; k++ {
		if e := v[k*step]; e > m || e != e {
			m = e
		}
		if m != m {
			break
		}
	}
	return m
}
