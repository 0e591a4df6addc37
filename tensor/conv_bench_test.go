package tensor

import (
	"fmt"
	"testing"
	"time"
)

// convShape is one convolution workload: batch, input channels, size,
// output channels, kernel size (padding keeps the size: k/2).
type convShape struct{ n, c, hw, o, k int }

// String names the shape as N x C x H x W -> O, with a "k1" suffix for 1×1
// kernels (3×3 is the default); scripts/bench/compare.sh parses it.
func (s convShape) String() string {
	name := fmt.Sprintf("%dx%dx%dx%d->%d", s.n, s.c, s.hw, s.hw, s.o)
	if s.k != 3 {
		name += fmt.Sprintf("k%d", s.k)
	}
	return name
}

func (s convShape) flops() float64 {
	return 2 * float64(s.n*s.o*s.hw*s.hw) * float64(s.c*s.k*s.k)
}

// paperConvShapes are the distinct convolutions of the paper's ResNet
// (scripts/bench/paper_resnet.py) at width d, 32×32 images, batch n: the 3×3
// convolutions of G and D and their 1×1 shortcuts.
func paperConvShapes(n, d int) []convShape {
	return []convShape{
		{n, 8 * d, 4, 8 * d, 3}, // G block 1, D block 4
		{n, 8 * d, 8, 4 * d, 3}, // G block 2 conv1
		{n, 4 * d, 8, 4 * d, 3}, // G block 2 conv2, D block 3 conv1
		{n, 4 * d, 8, 8 * d, 3}, // D block 3 conv2
		{n, 4 * d, 16, 2 * d, 3},
		{n, 2 * d, 16, 2 * d, 3},
		{n, 2 * d, 16, 4 * d, 3},
		{n, 2 * d, 32, d, 3},
		{n, d, 32, d, 3},
		{n, d, 32, 2 * d, 3},
		{n, d, 32, 1, 3},        // G output
		{n, 1, 32, d, 3},        // D input
		{n, 8 * d, 4, 8 * d, 1}, // shortcuts
		{n, 8 * d, 8, 4 * d, 1},
		{n, 4 * d, 16, 2 * d, 1},
		{n, 2 * d, 32, d, 1},
		{n, d, 16, 2 * d, 1},
		{n, 2 * d, 8, 4 * d, 1},
		{n, 4 * d, 4, 8 * d, 1},
		{n, 8 * d, 2, 8 * d, 1},
	}
}

// convBenchShapes are the reference shapes measured against PyTorch
// (scripts/bench/torch_conv.py) and the paper's ResNet convolutions at d=16
// and d=32, batch 64 and 16.
func convBenchShapes() []convShape {
	shapes := []convShape{
		{64, 128, 16, 128, 3}, {64, 64, 32, 64, 3}, {64, 32, 64, 32, 3}, {64, 1, 28, 64, 3},
	}
	for _, n := range []int{64, 16} {
		for _, d := range []int{16, 32} {
			shapes = append(shapes, paperConvShapes(n, d)...)
		}
	}
	return shapes
}

// BenchmarkConv2d times Conv2d ("fwd"), Conv2dInputGrad ("dx"),
// Conv2dWeightGrad ("dw") and Conv2d + Conv2dInputGrad +
// Conv2dWeightGrad ("fwd+bwd", counted as three times the forward FLOPs), as
// torch_conv.py does. It uses a b.N loop so that -cpu is honoured.
func BenchmarkConv2d(b *testing.B) {
	seen := map[string]bool{}
	for i, s := range convBenchShapes() {
		if seen[s.String()] {
			continue
		}
		seen[s.String()] = true
		// Inputs are made when a benchmark of the shape first runs, so
		// that -bench selecting a few shapes does not fill all of them.
		var x, w, gy *Tensor
		p := ConvParams{Padding: [2]int{s.k / 2, s.k / 2}}
		run := func(mode string, mult float64, op func()) {
			b.Run(mode+"/"+s.String(), func(b *testing.B) {
				if x == nil {
					r := rng(uint64(i + 1))
					x, w = RandN(r, s.n, s.c, s.hw, s.hw), RandN(r, s.o, s.c, s.k, s.k)
					gy = RandN(r, s.n, s.o, s.hw, s.hw)
				}
				b.ReportAllocs()
				op() // warm the pools and caches
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					op()
				}
				b.ReportMetric(mult*s.flops()*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
			})
		}
		fwd := func() { Conv2d(x, w, p) }
		dx := func() { Conv2dInputGrad(gy, w, s.hw, s.hw, p) }
		dw := func() { Conv2dWeightGrad(x, gy, s.k, s.k, p) }
		run("fwd", 1, fwd)
		run("dx", 1, dx)
		run("dw", 1, dw)
		run("fwd+bwd", 3, func() { fwd(); dx(); dw() })
	}
}
