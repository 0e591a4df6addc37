package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// FIDEps is what FrechetDistance adds to both covariance diagonals when the
// plain computation fails, the value pytorch-fid uses.
const FIDEps = 1e-6

// FID returns the Fréchet Inception Distance between the Gaussian fits of two
// feature sets: FrechetDistance of their means and covariances. The result
// carries both sample counts and the extractor's name; it is labelled with
// the extractor, so numbers computed on different features are never mistaken
// for one another (and never for Inception FID unless they are).
//
// It panics if a and b come from different extractors or dimensions, or
// either has fewer than two vectors.
func FID(a, b *Stats) Result {
	if a.name != b.name || a.dim != b.dim {
		panic(fmt.Sprintf("metrics: FID: %q features of dimension %d against %q of dimension %d", a.name, a.dim, b.name, b.dim))
	}
	if a.n < 2 || b.n < 2 {
		panic(fmt.Sprintf("metrics: FID: %d and %d vectors; want at least 2 in each set", a.n, b.n))
	}
	return Result{
		Metric:    "FID",
		Extractor: a.name,
		Value:     FrechetDistance(a.mean, a.Cov(), b.mean, b.Cov()),
		N1:        a.n,
		N2:        b.n,
	}
}

// FrechetDistance returns the squared Fréchet (2-Wasserstein) distance
// between the Gaussians N(mu1, s1) and N(mu2, s2):
//
//	‖mu1 − mu2‖² + Tr(s1) + Tr(s2) − 2 Tr((s1 s2)^½)
//
// The trace of the matrix square root is computed in float64 from the
// eigenvalues μ of a symmetric positive semi-definite matrix similar to
// s1 s2, as Tr((s1 s2)^½) = Σ √μ. When s1 (or else s2) is positive definite
// and well conditioned, that matrix is Lᵀ s2 L with s1 = L Lᵀ (Cholesky);
// otherwise (singular covariances: fewer samples than dimensions) it is
// diag(√λ) Vᵀ s2 V diag(√λ) with s1 = V diag(λ) Vᵀ, which needs the slower
// eigenvectors. Unlike a general matrix square root (scipy.linalg.sqrtm)
// neither needs complex arithmetic; round-off eigenvalues below zero are
// taken as zero. For 2048-dimensional features, the Cholesky route takes
// about 15 s and the eigenvector route about 2 minutes with gonum on two
// cores. If a decomposition nevertheless fails or gives a non-finite value,
// FIDEps is added to both diagonals and the computation repeated, as
// pytorch-fid does; if that fails too, or an input holds NaN or infinity,
// the result is NaN.
//
// It panics if the dimensions of the four arguments differ.
func FrechetDistance(mu1 []float64, s1 mat.Symmetric, mu2 []float64, s2 mat.Symmetric) float64 {
	d := len(mu1)
	if len(mu2) != d || s1.SymmetricDim() != d || s2.SymmetricDim() != d {
		panic(fmt.Sprintf("metrics: FrechetDistance: means of %d and %d elements, covariances %dx%[3]d and %dx%[4]d",
			len(mu1), len(mu2), s1.SymmetricDim(), s2.SymmetricDim()))
	}
	if !finite(mu1) || !finite(mu2) || !finiteSym(s1) || !finiteSym(s2) {
		return math.NaN()
	}
	var diff2 float64
	for i := range mu1 {
		x := mu1[i] - mu2[i]
		diff2 += x * x
	}
	tr := symTrace(s1) + symTrace(s2)
	tsq, ok := traceSqrtProduct(s1, s2)
	if !ok {
		a := addDiag(s1, FIDEps)
		b := addDiag(s2, FIDEps)
		tsq, ok = traceSqrtProduct(a, b)
		if !ok {
			return math.NaN()
		}
	}
	return diff2 + tr - 2*tsq
}

// cholMaxCond is the largest condition number of a covariance for which
// FrechetDistance takes the Cholesky route.
const cholMaxCond = 1e10

// traceSqrtProduct returns Tr((a b)^½) for symmetric positive semi-definite
// a and b, and false if a decomposition failed or the value is not finite.
func traceSqrtProduct(a, b mat.Symmetric) (float64, bool) {
	if t, ok := traceSqrtChol(a, b); ok {
		return t, true
	}
	if t, ok := traceSqrtChol(b, a); ok {
		return t, true
	}
	return traceSqrtEig(a, b)
}

// traceSqrtChol computes Tr((a b)^½) as Σ √μ over the eigenvalues μ of
// Lᵀ b L, where a = L Lᵀ, a matrix similar to a b. It reports false when a
// is not positive definite or is ill-conditioned (condition number above
// cholMaxCond), where the eigendecomposition route is more accurate.
func traceSqrtChol(a, b mat.Symmetric) (float64, bool) {
	var ch mat.Cholesky
	if !ch.Factorize(a) || !(ch.Cond() <= cholMaxCond) {
		return 0, false
	}
	var lt mat.TriDense
	ch.LTo(&lt)
	l := mat.DenseCopyOf(&lt)
	var bl, m mat.Dense
	bl.Mul(b, l)
	m.Mul(l.T(), &bl)
	return sumSqrtEigen(&m)
}

// sumSqrtEigen returns Σ √max(μ, 0) over the eigenvalues μ of the
// symmetric part of m.
func sumSqrtEigen(m *mat.Dense) (float64, bool) {
	d, _ := m.Dims()
	s := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			s.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	var e mat.EigenSym
	if !e.Factorize(s, false) {
		return 0, false
	}
	var t float64
	for _, mu := range e.Values(nil) {
		t += math.Sqrt(max(mu, 0))
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, false
	}
	return t, true
}

// traceSqrtEig computes Tr((a b)^½) through the eigendecomposition
// a = V diag(λ) Vᵀ: a b is similar to diag(√λ) Vᵀ b V diag(√λ). It handles
// singular a and b.
func traceSqrtEig(a, b mat.Symmetric) (float64, bool) {
	d := a.SymmetricDim()
	var ea mat.EigenSym
	if !ea.Factorize(a, true) {
		return 0, false
	}
	lam := ea.Values(nil)
	if !finite(lam) {
		return 0, false
	}
	var v mat.Dense
	ea.VectorsTo(&v)
	// w = Vᵀ b V, then scale row i and column j by √λi, √λj.
	var bv, w mat.Dense
	bv.Mul(b, &v)
	w.Mul(v.T(), &bv)
	root := make([]float64, d)
	for i, l := range lam {
		root[i] = math.Sqrt(max(l, 0))
	}
	for i := range d {
		for j := range d {
			w.Set(i, j, root[i]*w.At(i, j)*root[j])
		}
	}
	return sumSqrtEigen(&w)
}

func symTrace(s mat.Symmetric) float64 {
	var t float64
	for i := range s.SymmetricDim() {
		t += s.At(i, i)
	}
	return t
}

func addDiag(s mat.Symmetric, eps float64) *mat.SymDense {
	c := mat.NewSymDense(s.SymmetricDim(), nil)
	c.CopySym(s)
	for i := range c.SymmetricDim() {
		c.SetSym(i, i, c.At(i, i)+eps)
	}
	return c
}

func finiteSym(s mat.Symmetric) bool {
	d := s.SymmetricDim()
	for i := range d {
		for j := i; j < d; j++ {
			x := s.At(i, j)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
	}
	return true
}
