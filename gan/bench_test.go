package gan_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/tensor"
)

// BenchmarkStep times WGAN-GP iterations (5 critic steps and a generator
// step) of the paper's ResNet at 32×32, 1 channel, through the Trainer
// without a run folder: the figure to compare with PyTorch's
// scripts/bench/paper_resnet.py. It reports s/iter and the bytes allocated
// per iteration (B/op, which the tensor memory pool keeps low); the first
// iteration is a warm-up and not timed.
func BenchmarkStep(b *testing.B) {
	for _, w := range []int{16, 32} {
		for _, batch := range []int{16, 64} {
			b.Run(fmt.Sprintf("d%d-b%d", w, batch), func(b *testing.B) {
				b.ReportAllocs()
				cfg := gan.Config{Resolution: 32, Channels: 1, Width: w}
				m, err := gan.New(cfg, rng(1))
				if err != nil {
					b.Fatal(err)
				}
				ds := data.FromTensor(tensor.RandU(rng(2), -1, 1, 4*batch, 1, 32, 32), nil, nil)
				o := gan.Options{Iterations: b.N + 1, BatchSize: batch, Seed: 1}
				o.OnProgress = func(p gan.Progress) {
					if p.Iteration == 1 {
						b.ResetTimer()
					}
				}
				if _, err := gan.Train(context.Background(), m, ds, o); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/iter")
			})
		}
	}
}
