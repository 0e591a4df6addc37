package kernels

import (
	"sync"
	"testing"
)

// BenchmarkFMAPeak measures the machine's FMA peak in GFLOP/s: 24
// independent 512-bit FMAs per iteration on registers, on every worker at
// once (-cpu sets how many). The kernels' figures are to be read against it.
func BenchmarkFMAPeak(b *testing.B) {
	if !fmaPeak(0) {
		b.Skip("no AVX-512 FMA loop on this machine")
	}
	const iters = 1 << 20
	w := Workers()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for range w {
			wg.Go(func() { fmaPeak(iters) })
		}
		wg.Wait()
	}
	b.ReportMetric(float64(w)*iters*24*32*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
