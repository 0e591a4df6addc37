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
// naive reference beside it. Run it as
//
//	go test -run '^$' -bench '^BenchmarkSgemm$' -cpu 1,2 ./internal/kernels
//
// Measured 2026-11-25 on a 2-core AMD EPYC VM (Zen 4: AVX-512 at half rate,
// so about 115 GFLOP/s per core at best), interleaved with OpenBLAS 0.3.21
// sgemm through numpy on the same machine, median of 3 rounds, GFLOP/s:
//
//	n     gantry 1T  OpenBLAS 1T  gantry 2T  OpenBLAS 2T
//	256       109.6        100.6      182.9        173.8
//	512       103.7        101.4      208.3        196.6
//	1024      102.7         98.4      199.4        191.4
//	2048      103.3        101.2      194.9        203.3
//
// Runs vary by 5-10% on this shared machine even when it looks idle.
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
					gemmBlocked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
				})
			})
		}
	}
}

// BenchmarkSgemmShapes times the shapes convolution lowers to: forward (NN,
// m = output channels, n = pixels, k = input channels × 9), input gradient
// (TN) and weight gradient (NT, a long reduction over pixels), for a wide
// layer ([64,128,16,16] -> 128, per 16 samples) and a narrow one (16 channels
// at 32×32, per 16 samples), and the 1-channel [64,1,28,28] -> 64 (whole
// batch). On the machine of BenchmarkSgemm, GFLOP/s,
// gantry (best of 2) against OpenBLAS through numpy (best of 3):
//
//	shape                   gantry 1T  OpenBLAS 1T  gantry 2T  OpenBLAS 2T
//	fwd/NN/128x4096x1152         97.2         85.7      192.3        169.4
//	dx/TN/1152x4096x128         104.8         94.9      208.3        182.9
//	dw/NT/128x1152x4096          93.7         84.5      173.6        166.7
//	fwd/NN/16x16384x144          87.1         12.7      192.2         24.8
//	dx/TN/144x16384x16           89.1         42.6      172.2         75.2
//	dw/NT/16x144x16384           83.0         34.0      173.1         63.8
//	fwd/NN/64x50176x9            47.7         33.0      103.8         55.6
//	dx/TN/9x50176x64             42.2         30.3      124.4         52.4
//	dw/NT/64x9x50176             57.9         27.1       92.1         34.0
func BenchmarkSgemmShapes(b *testing.B) {
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"fwd/NN/128x4096x1152", false, false, 128, 4096, 1152},
		{"dx/TN/1152x4096x128", true, false, 1152, 4096, 128},
		{"dw/NT/128x1152x4096", false, true, 128, 1152, 4096},
		{"fwd/NN/16x16384x144", false, false, 16, 16384, 144},
		{"dx/TN/144x16384x16", true, false, 144, 16384, 16},
		{"dw/NT/16x144x16384", false, true, 16, 144, 16384},
		{"fwd/NN/64x50176x9", false, false, 64, 50176, 9},
		{"dx/TN/9x50176x64", true, false, 9, 50176, 64},
		{"dw/NT/64x9x50176", false, true, 64, 9, 50176},
	} {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 8))
			x := make([]float32, s.m*s.k)
			y := make([]float32, s.k*s.n)
			z := make([]float32, s.m*s.n)
			for i := range x {
				x[i] = rng.Float32()
			}
			for i := range y {
				y[i] = rng.Float32()
			}
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, y, ldb, 0, z, s.n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, y, ldb, 0, z, s.n)
			}
			gemmSink += z[len(z)-1]
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
