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
// The trace of the matrix square root is computed in float64 through
// symmetric eigendecompositions: with s1 = V diag(λ) Vᵀ, the product s1 s2 is
// similar to the positive semi-definite matrix diag(√λ) Vᵀ s2 V diag(√λ),
// whose eigenvalues μ give Tr((s1 s2)^½) = Σ √μ. Unlike a general matrix
// square root (scipy.linalg.sqrtm) this needs no complex arithmetic and copes
// with singular covariances (fewer samples than dimensions); round-off
// eigenvalues below zero are taken as zero. If a decomposition nevertheless
// fails or gives a non-finite value, FIDEps is added to both diagonals and the
// computation repeated, as pytorch-fid does; if that fails too, or an input
// holds NaN or infinity, the result is NaN.
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

// traceSqrtProduct returns Tr((a b)^½) for symmetric positive semi-definite
// a and b, and false if an eigendecomposition failed or the value is not
// finite.
func traceSqrtProduct(a, b mat.Symmetric) (float64, bool) {
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
	m := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			// Average the two triangles: w is symmetric up to round-off.
			x := 0.5 * (w.At(i, j) + w.At(j, i))
			m.SetSym(i, j, root[i]*x*root[j])
		}
	}
	var em mat.EigenSym
	if !em.Factorize(m, false) {
		return 0, false
	}
	var t float64
	for _, mu := range em.Values(nil) {
		t += math.Sqrt(max(mu, 0))
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, false
	}
	return t, true
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
