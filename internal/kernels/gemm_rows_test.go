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

// rowsImpl is one implementation of SgemmRowsB under test.
type rowsImpl struct {
	name string
	fn   func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, bRows []int, beta float32, c []float32, ldc int)
}

// rowsImpls lists the public SgemmRowsB, the dot path, and every microkernel
// under the blocked driver (also with tiny blocks and Go packing), as
// gemmImpls does for Sgemm.
func rowsImpls() []rowsImpl {
	impls := []rowsImpl{{"SgemmRowsB", SgemmRowsB}}
	for _, d := range dotKernels() {
		impls = append(impls, rowsImpl{fmt.Sprintf("dot%dx%d", d.ti, d.tj), func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, bRows []int, beta float32, c []float32, ldc int) {
			if transA || !transB || m == 0 || n == 0 || k == 0 {
				SgemmRowsB(transA, transB, m, n, k, alpha, a, lda, b, bRows, beta, c, ldc)
				return
			}
			checkGemmRowsB(transA, transB, m, n, k, a, lda, b, bRows, c, ldc)
			gemmDotParallel(d, m, n, k, alpha, a, lda, b, 1, bRows, beta, c, ldc)
		}})
	}
	for _, kern := range testKernels() {
		impls = append(impls, rowsImpl{kern.name, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, bRows []int, beta float32, c []float32, ldc int) {
			checkGemmRowsB(transA, transB, m, n, k, a, lda, b, bRows, c, ldc)
			if m == 0 || n == 0 {
				return
			}
			gemmBlocked(kern, transA, transB, m, n, k, alpha, a, lda, b, 1, bRows, beta, c, ldc)
		}})
	}
	return impls
}

// rowStarts returns starts for rows rows of cols floats: runs of evenly
// spaced rows (some overlapping, as the shifted views of a convolution),
// broken at random, or scattered starts when scatter is set. It returns the
// length of buffer they need.
func rowStarts(rng *rand.Rand, rows, cols int, scatter bool) ([]int, int) {
	off := make([]int, rows)
	pos := 3
	for r := 0; r < rows; {
		run := 1 + rng.IntN(20)
		stride := cols + rng.IntN(3)
		if rng.IntN(3) == 0 {
			stride = 1 + rng.IntN(max(cols, 1)) // overlapping rows
		}
		for i := 0; i < run && r < rows; i, r = i+1, r+1 {
			off[r] = pos
			pos += stride
		}
		pos += rng.IntN(5)
	}
	if scatter {
		for r := range off {
			off[r] = rng.IntN(pos)
		}
	}
	return off, pos + cols
}

func runRowsCase(t *testing.T, impl rowsImpl, tc gemmCase, scatter bool, rng *rand.Rand) {
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
	off, nb := rowStarts(rng, br, bc, scatter)
	b := make([]float32, nb+7)
	for i := range b {
		b[i] = rng.Float32()*2 - 1
	}
	c := newGemmMat(rng, tc.m, tc.n, tc.pad)
	if tc.beta == 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c.data[i*c.ld+j] = float32(math.NaN())
			}
		}
	}
	a0, b0, c0 := slices.Clone(a.data), slices.Clone(b), slices.Clone(c.data)
	want := slices.Clone(c.data)
	SgemmRowsBRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b, off, tc.beta, want, c.ld)
	impl.fn(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b, off, tc.beta, c.data, c.ld)
	require.True(t, slices.Equal(a.data, a0) && slices.Equal(b, b0), "%s(%v) modified A or B", impl.name, tc)
	require.NoError(t, c.checkGuards(), "%s(%v)", impl.name, tc)
	eps := float64(2*(tc.k+2)) * 0x1p-23
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var mag float64
			for p := 0; p < tc.k; p++ {
				ai := i*a.ld + p
				if tc.transA {
					ai = p*a.ld + i
				}
				var bi int
				if tc.transB {
					bi = off[j] + p
				} else {
					bi = off[p] + j
				}
				mag += math.Abs(float64(a.data[ai]) * float64(b[bi]))
			}
			mag = math.Abs(float64(tc.alpha))*mag + 1e-30
			if tc.beta != 0 {
				mag += math.Abs(float64(tc.beta) * float64(c0[i*c.ld+j]))
			}
			got, w := c.data[i*c.ld+j], want[i*c.ld+j]
			if math.IsNaN(float64(got)) || math.Abs(float64(got-w)) > eps*mag {
				t.Fatalf("%s(%v scatter=%v): C[%d][%d] = %v; want %v (tolerance %.3g)", impl.name, tc, scatter, i, j, got, w, eps*mag)
			}
		}
	}
}

// TestSgemmRowsBConformance runs every implementation of SgemmRowsB against
// SgemmRowsBRef on the odd sizes, the four transpose cases, runs of evenly
// spaced rows (overlapping or not) and scattered rows, with guard bands
// around C.
func TestSgemmRowsBConformance(t *testing.T) {
	alphaBeta := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0.25, -1}}
	sizes := []int{1, 7, 17, 65}
	if raceEnabled || testing.Short() {
		sizes = []int{1, 17, 65}
	}
	for _, impl := range rowsImpls() {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(5, 6))
			eachGemmCase(sizes, alphaBeta, 3, func(n int, c gemmCase) { runRowsCase(t, impl, c, n%5 == 0, rng) })
		})
	}
}

// TestSgemmRowsBShapes covers long reductions (the dot path and several kc
// blocks) and wide products split over workers.
func TestSgemmRowsBShapes(t *testing.T) {
	cases := []gemmCase{
		{false, false, 0, 5, 3, 1, 0, 1},
		{false, false, 5, 6, 0, 1, 0.5, 1},
		{false, false, 16, 1100, 260, 1, 0, 0},
		{false, false, 100, 300, 40, 1, 0.5, 2},
		{false, true, 5, 40, 2500, 1, 0.5, 3},
		{false, true, 64, 130, 1100, -1, 0, 0},
		{false, true, 16, 9, 1300, 1, 0, 0},
	}
	for _, impl := range rowsImpls() {
		rng := rand.New(rand.NewPCG(7, 8))
		for i, tc := range cases {
			runRowsCase(t, impl, tc, i%2 == 1, rng)
		}
	}
}

func TestSgemmRowsBPanics(t *testing.T) {
	for _, f := range []func(){
		func() {
			SgemmRowsB(false, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 10), []int{0}, 0, make([]float32, 6), 3)
		},
		func() {
			SgemmRowsB(false, false, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 10), []int{0, 8}, 0, make([]float32, 6), 3)
		},
		func() {
			SgemmRowsB(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 10), []int{0, -1, 2}, 0, make([]float32, 6), 3)
		},
	} {
		assert.Panics(t, f)
	}
}
