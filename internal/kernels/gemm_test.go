package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gemmImpl is one implementation under test, with Sgemm's signature.
type gemmImpl struct {
	name string
	fn   func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// gemmImpls lists every GEMM this machine can run: the public Sgemm, each
// microkernel under the blocked driver with its own blocking, and each again
// with tiny blocks so that the block edges of mc, kc and nc are crossed even
// by small matrices.
func gemmImpls() []gemmImpl {
	impls := []gemmImpl{{"Sgemm", Sgemm}}
	for _, d := range dotKernels() {
		// The dot path, for A·Bᵀ at any size; other cases go to Sgemm.
		impls = append(impls, gemmImpl{fmt.Sprintf("dot%dx%d", d.ti, d.tj), func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if transA || !transB || m == 0 || n == 0 || k == 0 { // the GEMV case has its own test
				Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
			gemmDotParallel(d, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
		}})
	}
	for _, kern := range testKernels() {
		impls = append(impls, gemmImpl{kern.name, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
			if m == 0 || n == 0 {
				return
			}
			gemmBlocked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
		}})
	}
	return impls
}

const gemmSentinel = -7777.25

// gemmMat is a matrix stored with padding between rows and a guard band after
// the last row, all filled with gemmSentinel.
type gemmMat struct {
	r, c, ld int
	data     []float32
}

func newGemmMat(rng *rand.Rand, r, c, pad int) gemmMat {
	ld := max(c, 1) + pad
	data := make([]float32, r*ld+17)
	for i := range data {
		data[i] = gemmSentinel
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			data[i*ld+j] = rng.Float32()*2 - 1
		}
	}
	return gemmMat{r, c, ld, data}
}

func (x gemmMat) in(idx int) bool {
	i, j := idx/x.ld, idx%x.ld
	return i < x.r && j < x.c
}

// checkGuards reports the first element outside the window that is no
// longer the sentinel.
func (x gemmMat) checkGuards() error {
	for idx, v := range x.data {
		if !x.in(idx) && v != gemmSentinel {
			return fmt.Errorf("guard element %d (row %d col %d, ld %d) = %v, want sentinel", idx, idx/x.ld, idx%x.ld, x.ld, v)
		}
	}
	return nil
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d alpha=%v beta=%v pad=%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// runGemmCase checks impl against SgemmRef on one case. The tolerance for
// each element is relative to the sum of the magnitudes of its terms.
func runGemmCase(t *testing.T, impl gemmImpl, tc gemmCase, rng *rand.Rand) {
	t.Helper()
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	a := newGemmMat(rng, ar, ac, tc.pad)
	b := newGemmMat(rng, br, bc, 2*tc.pad+1)
	c := newGemmMat(rng, tc.m, tc.n, tc.pad)
	if tc.beta == 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c.data[i*c.ld+j] = float32(math.NaN())
			}
		}
	}
	a0, b0, c0 := slices.Clone(a.data), slices.Clone(b.data), slices.Clone(c.data)

	want := slices.Clone(c.data)
	SgemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b.data, b.ld, tc.beta, want, c.ld)
	impl.fn(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b.data, b.ld, tc.beta, c.data, c.ld)

	require.True(t, slices.Equal(a.data, a0) && slices.Equal(b.data, b0), "%s(%v) modified A or B", impl.name, tc)
	require.NoError(t, c.checkGuards(), "%s(%v)", impl.name, tc)
	eps := float64(2*(tc.k+2)) * 0x1p-23
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			// Bound the rounding error by the sum of |a||b| over the row
			// and column that made this element.
			var mag float64
			for p := 0; p < tc.k; p++ {
				ai, bi := i*a.ld+p, p*b.ld+j
				if tc.transA {
					ai = p*a.ld + i
				}
				if tc.transB {
					bi = j*b.ld + p
				}
				av, bv := a.data[ai], b.data[bi]
				mag += math.Abs(float64(av) * float64(bv))
			}
			mag = math.Abs(float64(tc.alpha))*mag + 1e-30
			if tc.beta != 0 {
				mag += math.Abs(float64(tc.beta) * float64(c0[i*c.ld+j]))
			}
			got, w := c.data[i*c.ld+j], want[i*c.ld+j]
			if math.IsNaN(float64(got)) || math.Abs(float64(got-w)) > eps*mag {
				t.Fatalf("%s(%v): C[%d][%d] = %v; want %v (tolerance %.3g)", impl.name, tc, i, j, got, w, eps*mag)
			}
		}
	}
}

var gemmSizes = []int{1, 3, 7, 17, 33, 65, 127}

// TestSgemmConformance runs every implementation against SgemmRef over all
// combinations of the odd sizes, the four transpose cases, several
// alpha/beta pairs (beta = 0 with NaN in C) and padded leading dimensions,
// with guard bands around every matrix. With -short or -race, a sparser
// set of sizes is used.
// eachGemmCase calls fn with every case of the cube of sizes, both
// transposes of both operands, alpha and beta taken in turn from alphaBeta
// and a padding cycling below pads, numbering the cases from 1.
func eachGemmCase(sizes []int, alphaBeta [][2]float32, pads int, fn func(n int, c gemmCase)) {
	n := 0
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		for _, m := range sizes {
			for _, nn := range sizes {
				for _, k := range sizes {
					ab := alphaBeta[n%len(alphaBeta)]
					n++
					fn(n, gemmCase{tr[0], tr[1], m, nn, k, ab[0], ab[1], n % pads})
				}
			}
		}
	}
}

func TestSgemmConformance(t *testing.T) {
	alphaBeta := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {1.5, 0}, {0.25, -1}}
	sizes := gemmSizes
	if raceEnabled || testing.Short() {
		sizes = []int{1, 7, 33, 127}
	}
	for _, impl := range gemmImpls() {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			eachGemmCase(sizes, alphaBeta, 4, func(_ int, c gemmCase) { runGemmCase(t, impl, c, rng) })
		})
	}
}

// TestSgemmShapes covers what the cube of odd sizes misses: empty matrices,
// k = 0, alpha = 0 and shapes much longer in one dimension (which the driver
// splits between workers along that dimension).
func TestSgemmShapes(t *testing.T) {
	cases := []gemmCase{
		{false, false, 0, 5, 3, 1, 0, 1},
		{false, false, 5, 0, 3, 1, 0, 1},
		{false, false, 5, 6, 0, 1, 0, 1},
		{true, true, 5, 6, 0, 1, 0.5, 1},
		{false, false, 9, 13, 7, 0, 1, 2},
		{false, false, 300, 5, 40, 1, 0, 0},
		{true, false, 4, 300, 40, 1, 1, 3},
		{false, true, 2, 1000, 3, 1, 0, 0},
		{true, true, 1000, 2, 3, 2, 0, 1},
		{false, false, 70, 90, 300, 1, 0, 5},
		{false, true, 5, 7, 2500, 1, 0.5, 3},    // dot path, several blocks
		{false, true, 64, 130, 1100, -1, 0, 0},  // dot path, split over workers
		{false, true, 65, 30, 1030, 1, 1, 1},    // past the dot path's m
		{false, false, 300, 700, 20, 1, 0.5, 2}, // packed B, several column tiles
		{false, false, 7, 2100, 20, 1, 0.5, 1},  // more parallel blocks than workers
		{true, false, 9, 2500, 30, 2, 0, 0},     // the same with A transposed
	}
	for _, impl := range gemmImpls() {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, tc := range cases {
			runGemmCase(t, impl, tc, rng)
		}
	}
}

// TestSgemmGEMV covers matrix-vector products, which take the dot path
// when op(B) is a contiguous column: untransposed with ldb = 1, or
// transposed.
func TestSgemmGEMV(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, transB := range []bool{false, true} {
		for _, mk := range [][2]int{{1, 16}, {5, 17}, {37, 100}, {130, 1030}, {600, 300}} {
			m, k := mk[0], mk[1]
			a := newGemmMat(rng, m, k, 3)
			b := make([]float32, k+5) // k×1 with ldb = 1, or 1×k
			for i := range b {
				b[i] = rng.Float32()*2 - 1
			}
			ldb := 1
			if transB {
				ldb = k
			}
			for _, beta := range []float32{0, 0.5} {
				c := newGemmMat(rng, m, 1, 2)
				want := slices.Clone(c.data)
				SgemmRef(false, transB, m, 1, k, 1.5, a.data, a.ld, b[:k], ldb, beta, want, c.ld)
				Sgemm(false, transB, m, 1, k, 1.5, a.data, a.ld, b[:k], ldb, beta, c.data, c.ld)
				require.NoError(t, c.checkGuards(), "GEMV transB=%v m=%d k=%d", transB, m, k)
				for i := 0; i < m; i++ {
					require.InDelta(t, want[i*c.ld], c.data[i*c.ld], tolConv*float64(k), "GEMV transB=%v m=%d k=%d beta=%v: C[%d]", transB, m, k, beta, i)
				}
			}
		}
	}
}

// TestSgemmNaN checks that NaN and Inf in A or B reach C, as they do in
// SgemmRef: no implementation may skip zero operands.
func TestSgemmNaN(t *testing.T) {
	for _, impl := range gemmImpls() {
		a := []float32{0, 0, 0, 0}
		b := []float32{float32(math.NaN()), 1, 1, float32(math.Inf(1))}
		c := make([]float32, 4)
		impl.fn(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
		for i, v := range c {
			assert.True(t, math.IsNaN(float64(v)), "%s: C[%d] = %v; want NaN (0*NaN or 0*Inf)", impl.name, i, v)
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	s := make([]float32, 16)
	assert.Panics(t, func() { Sgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }, "negative m")
	assert.Panics(t, func() { Sgemm(false, false, 2, 2, 2, 1, s, 1, s, 2, 0, s, 2) }, "lda < k")
	assert.Panics(t, func() { Sgemm(false, false, 4, 4, 4, 1, s, 4, s, 4, 0, s[:15], 4) }, "short C")
}

// testKernels returns every microkernel of this machine (and the plain-Go
// one), each also with tiny blocks, so that every partial-block path runs,
// and, for a kernel with its own packing routines, with Go's packing.
func testKernels() []*gemmKernel {
	kerns := gemmKernels()
	if !slices.Contains(kerns, kernelGo) {
		kerns = append(kerns, kernelGo)
	}
	var out []*gemmKernel
	for _, k := range kerns {
		small := *k
		small.name += "/smallblocks"
		small.mc, small.kc, small.nc = 2*k.mr, 5, 3*k.nr
		out = append(out, k, &small)
		if k.copyMasked != nil || k.transpose != nil {
			plain := small
			plain.name = k.name + "/smallblocks/gopack"
			plain.copyMasked, plain.transpose = nil, nil
			out = append(out, &plain)
		}
	}
	return out
}
