package tensor

import (
	"fmt"
	"testing"
)

// convShape is one convolution workload: batch, input channels, size,
// output channels, kernel size (padding keeps the size).
type convShape struct{ n, c, hw, o, k int }

func (s convShape) String() string { return fmt.Sprintf("%dx%dx%dx%d->%d", s.n, s.c, s.hw, s.hw, s.o) }

func (s convShape) flops() float64 {
	return 2 * float64(s.n*s.o*s.hw*s.hw) * float64(s.c*s.k*s.k)
}

// convBenchShapes are the reference shapes measured against PyTorch
// (shared/bench/torch_conv.py) and the 3x3 convolutions of the paper's
// ResNet at d=16 and d=32, 32x32 images, batch 64.
func convBenchShapes() []convShape {
	shapes := []convShape{
		{64, 128, 16, 128, 3}, {64, 64, 32, 64, 3}, {64, 32, 64, 32, 3}, {64, 1, 28, 64, 3},
	}
	for _, d := range []int{16, 32} {
		shapes = append(shapes,
			convShape{64, 8 * d, 4, 8 * d, 3}, // G block 1 / D block 4
			convShape{64, 8 * d, 8, 4 * d, 3}, // G block 2 conv1
			convShape{64, 4 * d, 8, 4 * d, 3},
			convShape{64, 4 * d, 16, 2 * d, 3},
			convShape{64, 2 * d, 16, 2 * d, 3},
			convShape{64, 2 * d, 32, d, 3},
			convShape{64, d, 32, d, 3},
			convShape{64, d, 32, 1, 3}, // G output
			convShape{64, 1, 32, d, 3}, // D input
		)
	}
	return shapes
}

func BenchmarkConv2d(b *testing.B) {
	r := rng(1)
	for _, s := range convBenchShapes() {
		x := RandN(r, s.n, s.c, s.hw, s.hw)
		w := RandN(r, s.o, s.c, s.k, s.k)
		p := ConvParams{Padding: [2]int{s.k / 2, s.k / 2}}
		y := Conv2d(x, w, p)
		b.Run("fwd/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				y = Conv2d(x, w, p)
			}
			b.ReportMetric(s.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("fwd+bwd/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				y = Conv2d(x, w, p)
				Conv2dInputGrad(y, w, s.hw, s.hw, p)
				Conv2dWeightGrad(x, y, s.k, s.k, p)
			}
			b.ReportMetric(3*s.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
