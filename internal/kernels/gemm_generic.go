package kernels

// sgemm is the portable GEMM: rows of C are split across workers, and each
// row is built as a sum of scaled rows of op(B) (an axpy form the compiler
// keeps in registers). op(A) and op(B) are first made row-major when
// transposed so the inner loop always walks memory in order.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		t := make([]float32, m*k)
		for p := 0; p < k; p++ {
			row := a[p*lda : p*lda+m]
			for i, v := range row {
				t[i*k+p] = v
			}
		}
		a, lda = t, k
	}
	if transB {
		t := make([]float32, k*n)
		for j := 0; j < n; j++ {
			row := b[j*ldb : j*ldb+k]
			for p, v := range row {
				t[p*n+j] = v
			}
		}
		b, ldb = t, n
	}
	grain := max(1, (1<<16)/max(1, n*k))
	ParallelFor(m, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ci := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(ci)
			} else if beta != 1 {
				for j := range ci {
					ci[j] *= beta
				}
			}
			ai := a[i*lda : i*lda+k]
			for p, av := range ai {
				s := alpha * av
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += s * bv
				}
			}
		}
	})
}
