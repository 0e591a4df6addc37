package kernels

// The dot path computes C = alpha*A*Bᵀ + beta*C for an untransposed A and a
// transposed B, the shape of a convolution's weight gradient: few rows of C
// (output channels), a long reduction (pixels), and both operands stored
// along the reduction. There, packing B (a transpose) costs as much as the
// product. The dot kernel instead reads a few rows of each operand in place,
// accumulates their dot products a vector wide (4×4 with AVX-512, 3×4 with
// AVX2), and sums the lanes once per dotKC block, so nothing is packed.

// dotKernel is a dot-product microkernel: fn sets out[4*j+i], for i < ti and
// j < tj, to the dot product of the kc floats at a[i] and at b[j], where kc
// is a multiple of mult (the rest is added in Go).
type dotKernel struct {
	fn     func(kc int, a, b *[4]*float32, out *[16]float32)
	ti, tj int
	mult   int
	maxM   int // rows of C up to which the dot path beats the packed one
}

// gemmDot is the dot kernel of this CPU, or nil.
var gemmDot *dotKernel

// dotKC is the reduction block: four rows of B (16 KiB) stay in L1 while
// they meet every row of A, and the block of A (m×dotKC) stays in L2.
const dotKC = 1024

// Thresholds for the dot path. Measured on Zen 4 against the packed path
// (single thread, GFLOP/s, dot/packed), the AVX-512 kernel gives 81/24 at
// m = 8, 80/66 at m = 16, 78/75 at m = 32 (n = 144, k = 16384), 80/82 at
// m = 64, 85/93 at m = 128, so its maxM is 32; the AVX2 one loses at m = 16
// (36/53), so it has none. Both win when n is so small that the packed
// path's wide tiles would be mostly padding: 62/25 (AVX-512) and 56/25
// (AVX2) at m = 64, n = 9, k = 50176.
const (
	gemmDotMaxN = 16
	gemmDotMinK = 512
)

// useDot reports whether the dot path suits the product: A·Bᵀ with few rows
// or columns and a long reduction, or a matrix-vector product (n = 1 with op(B) a
// contiguous column), which the packed path would pad to a whole tile.
func useDot(transA, transB bool, m, n, k, ldb int) bool {
	if gemmDot == nil || transA {
		return false
	}
	if n == 1 && (transB || ldb == 1) && k >= 16 {
		return true
	}
	return transB && (m <= gemmDot.maxM || n <= gemmDotMaxN) && k >= gemmDotMinK
}

// gemmDotRange computes rows [i0, i1) and columns [j0, j1) of C on the dot
// path. B is read as rows along the reduction: row j at b[j*ldb:] (for
// n = 1, only row 0 is read, so an untransposed column with ldb = 1 works
// too). When bOff is not nil, row j starts at b[bOff[j]] instead.
func gemmDotRange(dot *dotKernel, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bOff []int, beta float32, c []float32, ldc int) {
	var out [16]float32
	var ap, bp [4]*float32
	var bo [4]int
	ti, tj := dot.ti, dot.tj
	for pc := 0; pc < k; pc += dotKC {
		kb := min(dotKC, k-pc)
		kv := kb / dot.mult * dot.mult // done by the kernel
		bet := beta
		if pc > 0 {
			bet = 1
		}
		for j := j0; j < j1; j += tj {
			nn := min(tj, j1-j)
			for q := range bp {
				// Missing rows repeat the last one; their sums are
				// dropped.
				r := j + min(q, nn-1)
				if bOff != nil {
					bo[q] = bOff[r] + pc
				} else {
					bo[q] = r*ldb + pc
				}
				_ = b[bo[q]+kb-1]
				bp[q] = &b[bo[q]]
			}
			for i := i0; i < i1; i += ti {
				mm := min(ti, i1-i)
				for q := range ap {
					ap[q] = &a[(i+min(q, mm-1))*lda+pc]
				}
				dot.fn(kv, &ap, &bp, &out)
				if kv < kb {
					dotTail(&out, mm, nn, a[i*lda+pc+kv:], lda, b, &bo, kv, kb-kv)
				}
				for ii := 0; ii < mm; ii++ {
					ci := c[(i+ii)*ldc+j : (i+ii)*ldc+j+nn]
					for jj := range ci {
						if bet == 0 {
							ci[jj] = alpha * out[4*jj+ii]
						} else {
							ci[jj] = alpha*out[4*jj+ii] + bet*ci[jj]
						}
					}
				}
			}
		}
	}
}

// dotTail adds the products of the last r steps, which the kernel leaves out,
// to out: row jj of B starts at b[bo[jj]], and its tail at b[bo[jj]+kv].
func dotTail(out *[16]float32, mm, nn int, a []float32, lda int, b []float32, bo *[4]int, kv, r int) {
	for ii := 0; ii < mm; ii++ {
		ar := a[ii*lda : ii*lda+r]
		for jj := 0; jj < nn; jj++ {
			br := b[bo[jj]+kv : bo[jj]+kv+r]
			s := out[4*jj+ii]
			for p, v := range ar {
				s += v * br[p]
			}
			out[4*jj+ii] = s
		}
	}
}
