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
	r := rng(1)
	seen := map[string]bool{}
	for _, s := range convBenchShapes() {
		if seen[s.String()] {
			continue
		}
		seen[s.String()] = true
		x := RandN(r, s.n, s.c, s.hw, s.hw)
		w := RandN(r, s.o, s.c, s.k, s.k)
		gy := RandN(r, s.n, s.o, s.hw, s.hw)
		p := ConvParams{Padding: [2]int{s.k / 2, s.k / 2}}
		b.Run("fwd/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			Conv2d(x, w, p)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				Conv2d(x, w, p)
			}
			b.ReportMetric(s.flops()*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
		b.Run("dx/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				Conv2dInputGrad(gy, w, s.hw, s.hw, p)
			}
			b.ReportMetric(s.flops()*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
		b.Run("dw/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				Conv2dWeightGrad(x, gy, s.k, s.k, p)
			}
			b.ReportMetric(s.flops()*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
		b.Run("fwd+bwd/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			Conv2d(x, w, p)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				Conv2d(x, w, p)
				Conv2dInputGrad(gy, w, s.hw, s.hw, p)
				Conv2dWeightGrad(x, gy, s.k, s.k, p)
			}
			b.ReportMetric(3*s.flops()*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}
