package kernels

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

var gemmSink float32

func benchGemm(b *testing.B, n int, fn func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n*n)
	y := make([]float32, n*n)
	z := make([]float32, n*n)
	for i := range x {
		x[i] = rng.Float32()
		y[i] = rng.Float32()
	}
	fn(false, false, n, n, n, 1, x, n, y, n, 0, z, n) // warm the pools
	b.ReportAllocs()
	b.ResetTimer()
	// A b.N loop rather than b.Loop: with b.Loop a sub-benchmark runs all
	// its iterations before the testing package applies -cpu, so every
	// -cpu value would be timed with the same GOMAXPROCS.
	for i := 0; i < b.N; i++ {
		fn(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	gemmSink += z[n*n-1]
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm times square NN products with the public Sgemm, and the
// naive reference beside it.
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024, 2048} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchGemm(b, n, Sgemm) })
	}
	b.Run("ref/128", func(b *testing.B) { benchGemm(b, 128, SgemmRef) })
}

// BenchmarkSgemmKernels times each microkernel this machine has under the
// blocked driver.
func BenchmarkSgemmKernels(b *testing.B) {
	kerns := gemmKernels()
	if kerns[len(kerns)-1] != kernelGo {
		kerns = append(kerns, kernelGo)
	}
	for _, kern := range kerns {
		for _, n := range []int{256, 512, 1024, 2048} {
			b.Run(kern.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				benchGemm(b, n, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
					gemmBlocked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				})
			})
		}
	}
}
