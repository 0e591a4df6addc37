package kernels

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and
// C is m×n. lda, ldb and ldc are the leading dimensions of the stored A, B and
// C. When beta is 0, C is not read, so it may hold anything (even NaN).
// NaN and Inf in A and B propagate as in the plain triple loop: no product is
// skipped, not even when alpha or an element is 0. C must not overlap A or B.
//
// The product is computed by a cache-blocked, packed algorithm (see
// gemm_blocked.go) split over Workers() goroutines, with an AVX-512 or
// AVX2+FMA microkernel in assembly when the CPU has one, and a plain-Go one
// otherwise or with -tags noasm. Matrix-vector products and A·Bᵀ with few
// rows or columns and a long reduction are computed instead as dot products
// of unpacked rows (gemm_dot.go). Results can differ from SgemmRef in the
// last bits, since the order of the sums differs.
//
// It panics if a dimension is negative, a leading dimension is too small, or
// a slice is too short for the matrix it holds.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
}

// SgemmRowsB is Sgemm with the rows of the stored B placed anywhere in b:
// row r starts at b[bRows[r]] (there are k rows of n floats when transB is
// false, n rows of k floats when it is true). Rows may overlap. A convolution
// passes as B the shifted views of a padded image that im2col would copy.
//
// It is fastest when runs of consecutive rows are evenly spaced (an
// untransposed B is then read in blocks of such runs, each an ordinary
// strided matrix), and for a transposed B when runs of 16 rows are.
//
// It panics as Sgemm does, or if bRows does not have one start per row
// within b.
func SgemmRowsB(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, bRows []int, beta float32, c []float32, ldc int) {
	checkGemmRowsB(transA, transB, m, n, k, a, lda, b, bRows, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, 1, bRows, beta, c, ldc)
}

func checkGemmRowsB(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, bRows []int, c []float32, ldc int) {
	ar, ac, br, bc := storedShapes("SgemmRowsB", transA, transB, m, n, k)
	checkMat("A", ar, ac, a, lda)
	checkMat("C", m, n, c, ldc)
	if len(bRows) != br {
		panic(fmt.Sprintf("kernels: SgemmRowsB: %d row starts for %d rows of B", len(bRows), br))
	}
	for r, o := range bRows {
		if o < 0 || (bc > 0 && o+bc > len(b)) {
			panic(fmt.Sprintf("kernels: SgemmRowsB: row %d of B at %d does not fit %d elements", r, o, len(b)))
		}
	}
}

// SgemmRowsBRef is the plain triple loop for SgemmRowsB.
func SgemmRowsBRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, bRows []int, beta float32, c []float32, ldc int) {
	checkGemmRowsB(transA, transB, m, n, k, a, lda, b, bRows, c, ldc)
	refLoop(transA, transB, m, n, k, alpha, a, lda, b, bRows, beta, c, ldc)
}

// refLoop is the triple loop of both references; row r of the stored B
// starts at b[bRows[r]].
func refLoop(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, bRows []int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[bRows[j]+p]
				} else {
					bv = b[bRows[p]+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// storedShapes returns the stored shapes of A (ar×ac) and B (br×bc) of a
// product of m×k by k×n operands, panicking on a negative dimension.
func storedShapes(op string, transA, transB bool, m, n, k int) (ar, ac, br, bc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: %s: negative dimension m=%d n=%d k=%d", op, m, n, k))
	}
	ar, ac, br, bc = m, k, k, n
	if transA {
		ar, ac = k, m
	}
	if transB {
		br, bc = n, k
	}
	return ar, ac, br, bc
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac, br, bc := storedShapes("Sgemm", transA, transB, m, n, k)
	checkMat("A", ar, ac, a, lda)
	checkMat("B", br, bc, b, ldb)
	checkMat("C", m, n, c, ldc)
}

func checkMat(name string, r, c int, s []float32, ld int) {
	if ld < max(c, 1) {
		panic(fmt.Sprintf("kernels: Sgemm: leading dimension of %s is %d, want >= %d", name, ld, max(c, 1)))
	}
	if r > 0 && c > 0 && len(s) < (r-1)*ld+c {
		panic(fmt.Sprintf("kernels: Sgemm: %s has %d elements, want >= %d for %dx%d with ld %d", name, len(s), (r-1)*ld+c, r, c, ld))
	}
}

// SgemmRef is the plain-Go reference GEMM: the obvious triple loop with a
// float32 accumulator, single-threaded. Tests compare every fast path with it.
func SgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	rows := make([]int, max(n, k)) // the stored B's rows, ldb apart
	for r := range rows {
		rows[r] = r * ldb
	}
	refLoop(transA, transB, m, n, k, alpha, a, lda, b, rows, beta, c, ldc)
}

// sgemm runs the blocked GEMM with the best microkernel for the shape. When
// bOff is not nil, row r of the stored B starts at b[bOff[r]] and ldb is
// unused.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bOff []int, beta float32, c []float32, ldc int) {
	if useDot(transA, transB, m, n, k, ldb) && (bOff == nil || transB) {
		gemmDotParallel(gemmDot, m, n, k, alpha, a, lda, b, ldb, bOff, beta, c, ldc)
		return
	}
	gemmBlocked(pickKernel(m, n), transA, transB, m, n, k, alpha, a, lda, b, ldb, bOff, beta, c, ldc)
}

// gemmChoices are the microkernels of the best instruction set this CPU has.
var gemmChoices = gemmKernels()[:1]

func init() {
	for _, k := range gemmKernels()[1:] {
		if k.isa == gemmChoices[0].isa {
			gemmChoices = append(gemmChoices, k)
		}
	}
}

// pickKernel returns the microkernel that does the least padded work on an
// m×n C, weighted by its speed: tiles that overhang C compute zeros, which
// matters when m is a small channel count.
func pickKernel(m, n int) *gemmKernel {
	var best *gemmKernel
	var bestCost float64
	for _, k := range gemmChoices {
		cost := float64((m+k.mr-1)/k.mr*k.mr) * float64((n+k.nr-1)/k.nr*k.nr) / k.speed
		if best == nil || cost < bestCost {
			best, bestCost = k, cost
		}
	}
	return best
}
