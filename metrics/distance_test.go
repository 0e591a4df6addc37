package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

func panics(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	fn()
	return ""
}

// assertPanics asserts that fn panics with a message starting with prefix.
func assertPanics(t *testing.T, prefix string, fn func(), msgAndArgs ...any) bool {
	t.Helper()
	if msg := panics(fn); !strings.HasPrefix(msg, prefix) {
		return assert.Fail(t, fmt.Sprintf("panic %q; want prefix %q", msg, prefix), msgAndArgs...)
	}
	return true
}

// gaussian returns n float32 vectors x = mu + L z with z standard normal.
func gaussian(r *rand.Rand, n int, mu []float64, l *mat.Dense) *tensor.Tensor {
	d := len(mu)
	out := make([]float32, n*d)
	z := make([]float64, d)
	for i := range n {
		for j := range z {
			z[j] = r.NormFloat64()
		}
		for j := range d {
			v := mu[j]
			for k := range d {
				v += l.At(j, k) * z[k]
			}
			out[i*d+j] = float32(v)
		}
	}
	return tensor.FromSlice(out, n, d)
}

func TestStatsStreamingMatchesTwoPass(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, d = 157, 7
	x := tensor.RandN(r, n, d)
	for i, v := range x.Data() {
		x.Data()[i] = 100 + 3*v // a large offset tests the centring
	}
	// Two-pass reference.
	xs := x.Data()
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += float64(xs[i*d+j])
		}
	}
	for j := range mean {
		mean[j] /= n
	}
	cov := mat.NewSymDense(d, nil)
	for j := range d {
		for k := j; k < d; k++ {
			var s float64
			for i := range n {
				s += (float64(xs[i*d+j]) - mean[j]) * (float64(xs[i*d+k]) - mean[k])
			}
			cov.SetSym(j, k, s/(n-1))
		}
	}
	check := func(name string, s *Stats) {
		t.Helper()
		require.Equal(t, n, s.Len(), "%s: Len", name)
		for j, v := range s.Mean() {
			assert.InDelta(t, mean[j], v, statsTol*math.Abs(mean[j]), "%s: mean[%d]", name, j)
		}
		c := s.Cov()
		for j := range d {
			for k := range d {
				assert.InDelta(t, cov.At(j, k), c.At(j, k), tolCov, "%s: cov[%d,%d]", name, j, k)
			}
		}
	}
	for _, bs := range []int{1, 5, 64, n} {
		s := NewStats("t", d)
		for i := 0; i < n; i += bs {
			s.Add(tensor.Slice(x, 0, i, min(i+bs, n)))
		}
		check("batches of "+string(rune('0'+bs%10)), s)
	}
	// Merge of two halves.
	s1, s2 := NewStats("t", d), NewStats("t", d)
	s1.Add(tensor.Slice(x, 0, 0, 60))
	s2.Add(tensor.Slice(x, 0, 60, n))
	s1.Merge(s2)
	check("merge", s1)
}

func TestFIDIdenticalIsZero(t *testing.T) {
	f := loadGolden(t)
	for _, name := range []string{"a", "c"} {
		x := goldenFeatures(t, f, name)
		assert.InDelta(t, 0, FID(x.Stats(), x.Stats()).Value, tolFIDSelf, "FID(%s, %s)", name, name)
	}
}

// Closed forms: for diagonal (or commuting) covariances
// FD = ‖Δμ‖² + Σ (√a_i − √b_i)²; for 2x2 matrices
// Tr √(S1 S2) = √(tr(S1 S2) + 2 √(det S1 det S2)).
func TestFrechetClosedForms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const d = 6
	mu1, mu2 := make([]float64, d), make([]float64, d)
	a, b := make([]float64, d), make([]float64, d)
	want := 0.0
	for i := range d {
		mu1[i], mu2[i] = r.NormFloat64(), r.NormFloat64()
		a[i], b[i] = 0.1+r.Float64()*3, 0.1+r.Float64()*3
		if i == d-1 {
			a[i] = 0 // singular
		}
		want += (mu1[i]-mu2[i])*(mu1[i]-mu2[i]) + (math.Sqrt(a[i])-math.Sqrt(b[i]))*(math.Sqrt(a[i])-math.Sqrt(b[i]))
	}
	diag := func(v []float64) *mat.SymDense {
		s := mat.NewSymDense(d, nil)
		for i, x := range v {
			s.SetSym(i, i, x)
		}
		return s
	}
	assert.InEpsilon(t, want, FrechetDistance(mu1, diag(a), mu2, diag(b)), tolFrechet, "diagonal: FrechetDistance")

	// The same covariances in a common random rotation.
	var q mat.QR
	g := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			g.Set(i, j, r.NormFloat64())
		}
	}
	q.Factorize(g)
	var qm mat.Dense
	q.QTo(&qm)
	rot := func(v []float64) *mat.SymDense {
		var m mat.Dense
		m.Mul(&qm, diag(v))
		m.Mul(&m, qm.T())
		s := mat.NewSymDense(d, nil)
		for i := range d {
			for j := i; j < d; j++ {
				s.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
			}
		}
		return s
	}
	// One covariance is singular: after the rotation its zero eigenvalue
	// comes back as rounding noise of order 1e-16·‖S‖, whose square root
	// (~1e-8) enters the trace, so the agreement is ~1e-8, not 1e-15. Gonum's
	// assembly and its noasm build land on different sides of that noise.
	assert.InEpsilon(t, want, FrechetDistance(mu1, rot(a), mu2, rot(b)), tolSingular, "rotated: FrechetDistance")

	// Non-commuting 2x2.
	s1 := mat.NewSymDense(2, []float64{2, 0.7, 0.7, 1})
	s2 := mat.NewSymDense(2, []float64{0.5, -0.2, -0.2, 3})
	var p mat.Dense
	p.Mul(s1, s2)
	tr := math.Sqrt(mat.Trace(&p) + 2*math.Sqrt(mat.Det(s1)*mat.Det(s2)))
	m1, m2 := []float64{1, 2}, []float64{-1, 0.5}
	want2 := 4 + 2.25 + 3 + 3.5 - 2*tr
	assert.InEpsilon(t, want2, FrechetDistance(m1, s1, m2, s2), statsTol, "2x2: FrechetDistance")
}

// FID of samples approaches the Fréchet distance of the Gaussians they come
// from (the estimate is biased upward by O(d/n)).
func TestFIDOfSamplesApproachesClosedForm(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const d, n = 4, 40000
	mu1, mu2 := []float64{0, 0, 0, 0}, []float64{1, 0, -0.5, 0}
	sd1, sd2 := []float64{1, 2, 0.5, 1}, []float64{1.5, 1, 0.5, 2}
	l1, l2 := mat.NewDense(d, d, nil), mat.NewDense(d, d, nil)
	want := 1.25
	for i := range d {
		l1.Set(i, i, sd1[i])
		l2.Set(i, i, sd2[i])
		want += (sd1[i] - sd2[i]) * (sd1[i] - sd2[i])
	}
	x, y := NewStats("g", d), NewStats("g", d)
	for range n / 1000 {
		x.Add(gaussian(r, 1000, mu1, l1))
		y.Add(gaussian(r, 1000, mu2, l2))
	}
	assert.InDelta(t, want, FID(x, y).Value, 0.05, "FID of %d samples", n)
}

func TestFIDNonFiniteIsNaN(t *testing.T) {
	x := NewStats("t", 2)
	x.AddFloat64([]float64{1, 2, 3, math.NaN(), 0, 1})
	y := NewStats("t", 2)
	y.AddFloat64([]float64{1, 2, 3, 4, 0, 1})
	got := FID(x, y).Value
	assert.True(t, math.IsNaN(got), "FID with NaN features = %g; want NaN", got)
}

// The unbiased estimator averages to zero on independent samples of one
// distribution, where the biased one would be clearly positive.
func TestMMD2Unbiased(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const trials, m, d = 300, 12, 5
	var sum, sum2 float64
	for range trials {
		x := FeaturesOf("t", tensor.RandN(r, m, d))
		y := FeaturesOf("t", tensor.RandN(r, m, d))
		v := MMD2(x, y)
		sum += v
		sum2 += v * v
	}
	mean := sum / trials
	se := math.Sqrt((sum2/trials - mean*mean) / trials)
	assert.InDelta(t, 0, mean, 3.5*se, "mean MMD² over %d same-distribution pairs: 0 within 3.5 standard errors", trials)
	// Different distributions give a clearly positive value.
	x := FeaturesOf("t", tensor.RandN(r, 200, d))
	y := FeaturesOf("t", tensor.AddScalar(tensor.RandN(r, 200, d), 1))
	assert.GreaterOrEqual(t, MMD2(x, y), 10*se, "MMD² of shifted Gaussians: clearly positive")
}

func TestKIDSameDistributionNearZero(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x := FeaturesOf("t", tensor.RandN(r, 400, 8))
	y := FeaturesOf("t", tensor.RandN(r, 300, 8))
	z := FeaturesOf("t", tensor.AddScalar(tensor.RandN(r, 300, 8), 0.5))
	same := KID(x, y, KIDOptions{Subsets: 200, SubsetSize: 100}, rand.New(rand.NewPCG(1, 1)))
	diff := KID(x, z, KIDOptions{Subsets: 200, SubsetSize: 100}, rand.New(rand.NewPCG(1, 1)))
	assert.InDelta(t, 0, same.Value, same.Std, "same distribution: |mean| below the subset std: %v", same)
	assert.GreaterOrEqual(t, diff.Value, 5*diff.Std, "shifted distribution %v: clearly above its std", diff)
	assert.GreaterOrEqual(t, diff.Value, 20*math.Abs(same.Value), "shifted distribution %v: clearly above %v", diff, same)
	assert.Equal(t, [4]int{200, 100, 400, 300}, [4]int{same.Subsets, same.SubsetSize, same.N1, same.N2}, "KID subsets, subset size, N1, N2")
	// Seeded: the same seed gives the same value; subset size is capped.
	again := KID(x, y, KIDOptions{Subsets: 200, SubsetSize: 100}, rand.New(rand.NewPCG(1, 1)))
	assert.Equal(t, same, again, "KID not reproducible")
	capped := KID(x, y, KIDOptions{}, rand.New(rand.NewPCG(1, 1)))
	assert.Equal(t, 300, capped.SubsetSize, "default options: subset size")
	assert.Equal(t, 100, capped.Subsets, "default options: subsets")
}

func TestPrecisionRecallIdenticalAndDisjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := FeaturesOf("t", tensor.RandN(r, 150, 10))
	p, rc := PrecisionRecall(x, x, DefaultK)
	assert.Equal(t, [2]float64{1, 1}, [2]float64{p.Value, rc.Value}, "identical sets: precision, recall")
	func() { // the same with float32 dot products
		defer func(w float64) { prFloat32Work = w }(prFloat32Work)
		prFloat32Work = 0
		p, rc := PrecisionRecall(x, x, DefaultK)
		assert.Equal(t, [2]float64{1, 1}, [2]float64{p.Value, rc.Value}, "identical sets, float32 dot products: precision, recall")
	}()
	far := FeaturesOf("t", tensor.AddScalar(tensor.RandN(r, 120, 10), 100))
	p, rc = PrecisionRecall(x, far, DefaultK)
	assert.Equal(t, [2]float64{0, 0}, [2]float64{p.Value, rc.Value}, "disjoint sets: precision, recall")
	// Data of two far clusters, a generator that covers only one of them:
	// full precision, half recall.
	two := FeaturesOf("t", tensor.Concat(0, tensor.RandN(r, 100, 2), tensor.AddScalar(tensor.RandN(r, 100, 2), 50)))
	one := FeaturesOf("t", tensor.RandN(r, 100, 2))
	p, rc = PrecisionRecall(two, one, DefaultK)
	assert.GreaterOrEqual(t, p.Value, 0.9, "mode-dropping generator: precision near 1")
	assert.GreaterOrEqual(t, rc.Value, 0.4, "mode-dropping generator: recall near 0.5")
	assert.LessOrEqual(t, rc.Value, 0.5, "mode-dropping generator: recall near 0.5")
}

func TestResultString(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Metric: "FID", Extractor: "gantry-gray", Value: 12.3, N1: 1000, N2: 1000}, "FID (gantry-gray features) = 12.3 (n=1000/1000)"},
		{Result{Metric: "KID", Extractor: "x", Value: 0.01234, Std: 0.0005, N1: 5, N2: 6, Subsets: 100, SubsetSize: 5}, "KID (x features) = 0.01234 ± 0.0005 (n=5/6, 100 subsets of 5)"},
		{Result{Metric: "recall", Extractor: "x", Value: 0.5, N1: 5, N2: 6, K: 3}, "recall (x features) = 0.5 (n=5/6, k=3)"},
		{Result{Metric: "IW", Value: -3.88, N1: 100, N2: 200, Steps: 500}, "IW = -3.88 (n=100/200, 500 critic steps)"},
	} {
		assert.Equal(t, tc.want, tc.r.String())
	}
}

func TestMisusePanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := FeaturesOf("a", tensor.RandN(r, 10, 3))
	b := FeaturesOf("b", tensor.RandN(r, 10, 3))
	a4 := FeaturesOf("a", tensor.RandN(r, 10, 4))
	one := FeaturesOf("a", tensor.RandN(r, 1, 3))
	for _, tc := range []struct {
		name string
		fn   func()
		want string
	}{
		{"FID names", func() { FID(a.Stats(), b.Stats()) }, "metrics: FID:"},
		{"FID dims", func() { FID(a.Stats(), a4.Stats()) }, "metrics: FID:"},
		{"FID one vector", func() { FID(a.Stats(), one.Stats()) }, "metrics: FID:"},
		{"KID names", func() { KID(a, b, KIDOptions{}, r) }, "metrics: KID:"},
		{"KID nil rand", func() { KID(a, a, KIDOptions{}, nil) }, "metrics: KID:"},
		{"KID negative", func() { KID(a, a, KIDOptions{Subsets: -1}, r) }, "metrics: KID:"},
		{"MMD2 dims", func() { MMD2(a, a4) }, "metrics: MMD2:"},
		{"PR k", func() { PrecisionRecall(a, a, 0) }, "metrics: PrecisionRecall:"},
		{"PR few", func() { PrecisionRecall(a, a, 10) }, "metrics: PrecisionRecall:"},
		{"Stats.Add shape", func() { NewStats("a", 3).Add(tensor.Zeros(2, 4)) }, "metrics: Stats.Add:"},
		{"Stats.Cov", func() { NewStats("a", 3).Cov() }, "metrics: Stats.Cov:"},
		{"Merge", func() { NewStats("a", 3).Merge(NewStats("b", 3)) }, "metrics: Stats.Merge:"},
		{"Frechet", func() { FrechetDistance([]float64{1}, mat.NewSymDense(2, nil), []float64{1}, mat.NewSymDense(1, nil)) }, "metrics: FrechetDistance:"},
		{"Row", func() { a.Row(10) }, "metrics: Features.Row:"},
	} {
		assertPanics(t, tc.want, tc.fn, tc.name)
	}
}

// The Cholesky and the eigenvector routes of FrechetDistance agree where
// both apply, and the Cholesky route declines singular matrices.
func TestTraceSqrtRoutesAgree(t *testing.T) {
	f := loadGolden(t)
	a, b := goldenFeatures(t, f, "a").Stats().Cov(), goldenFeatures(t, f, "b").Stats().Cov()
	c, okC := traceSqrtChol(a, b)
	e, okE := traceSqrtEig(a, b)
	require.True(t, okC, "Tr sqrt: the Cholesky route declined")
	require.True(t, okE, "Tr sqrt: the eigenvector route declined")
	assert.InEpsilon(t, e, c, statsTol, "Tr sqrt: Cholesky against eigenvectors")
	sing := goldenFeatures(t, f, "c").Stats().Cov() // 40 vectors in 64 dimensions
	_, ok := traceSqrtChol(sing, b)
	assert.False(t, ok, "Cholesky route accepted a singular covariance")
}
