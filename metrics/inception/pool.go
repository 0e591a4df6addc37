package inception

import "github.com/gantry-go/gantry/tensor"

// The network pools only 3×3 windows: max pools with stride 2 and no
// padding, and stride-1 pools with padding 1 (average without counting the
// padding, or max), as torchvision's FID Inception does.

// avgPool3 is F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).
func avgPool3(x *tensor.Tensor) *tensor.Tensor {
	return tensor.AvgPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true})
}

// maxPool3 is F.max_pool2d(x, 3, stride, pad).
func maxPool3(x *tensor.Tensor, stride, pad int) *tensor.Tensor {
	return tensor.MaxPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad}})
}
