package metrics

import (
	"math"
	"testing"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reference values from scripts/golden/gen_metrics.py (numpy, scipy).
func loadGolden(t *testing.T) *golden.File {
	t.Helper()
	f, err := golden.Read("testdata/features.json")
	require.NoError(t, err)
	return f
}

func goldenFeatures(t *testing.T, f *golden.File, name string) *Features {
	t.Helper()
	g, ok := f.Tensors[name]
	require.True(t, ok, "golden tensor %q missing", name)
	return FeaturesOf("golden", tensor.FromSlice(g.Data, g.Shape...))
}

func goldenIndices(t *testing.T, f *golden.File, name string) [][]int {
	t.Helper()
	g := f.Tensors[name]
	rows, cols := g.Shape[0], g.Shape[1]
	out := make([][]int, rows)
	for i := range out {
		out[i] = make([]int, cols)
		for j := range cols {
			out[i][j] = int(g.Data[i*cols+j])
		}
	}
	return out
}

func metaFloat(t *testing.T, f *golden.File, key string) float64 {
	t.Helper()
	v, ok := f.Meta[key].(float64)
	require.True(t, ok, "golden meta %q missing or not a number", key)
	return v
}

func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300)
}

func TestGoldenFID(t *testing.T) {
	f := loadGolden(t)
	for _, tc := range []struct{ x, y, key string }{
		{"a", "b", "fid_ab"},
		{"c", "d", "fid_cd"}, // fewer vectors than dimensions: singular covariances
	} {
		x, y := goldenFeatures(t, f, tc.x), goldenFeatures(t, f, tc.y)
		got := FID(x.Stats(), y.Stats())
		want := metaFloat(t, f, tc.key)
		t.Logf("FID(%s, %s) = %.15g, scipy %.15g, relative error %.3g", tc.x, tc.y, got.Value, want, relErr(got.Value, want))
		assert.InEpsilon(t, want, got.Value, tolScipy, "FID(%s, %s) against scipy's sqrtm", tc.x, tc.y)
		// The same distance computed in numpy through eigh, not sqrtm. With
		// singular covariances the square roots of round-off eigenvalues
		// (about 1e-15) differ between implementations by about 1e-8 each.
		assert.InEpsilon(t, metaFloat(t, f, tc.key+"_eigh"), got.Value, tolSingular, "FID(%s, %s) against numpy's eigh", tc.x, tc.y)
		assert.Equal(t, x.Len(), got.N1, "FID(%s, %s): N1", tc.x, tc.y)
		assert.Equal(t, y.Len(), got.N2, "FID(%s, %s): N2", tc.x, tc.y)
		assert.Equal(t, "golden", got.Extractor, "FID(%s, %s): extractor", tc.x, tc.y)
	}
}

func TestGoldenKID(t *testing.T) {
	f := loadGolden(t)
	a, b := goldenFeatures(t, f, "a"), goldenFeatures(t, f, "b")

	got := MMD2(a, b)
	want := metaFloat(t, f, "mmd2_ab")
	assert.InEpsilon(t, want, got, tolMMD, "MMD2(a, b)")

	xs, ys := goldenIndices(t, f, "kid_x"), goldenIndices(t, f, "kid_y")
	subsets := make([]kidSubset, len(xs))
	for i := range xs {
		subsets[i] = kidSubset{x: xs[i], y: ys[i]}
	}
	wantSubs, _ := f.Meta["kid_ab_subsets"].([]any)
	for _, tc := range []struct {
		name  string
		limit int     // union kernel up to this many vectors, else per subset
		work  float64 // float32 Gram matrices above this work
		tol   float64
	}{
		{"union, float64", kidGramLimit, kidFloat32Work, tolMMD},
		{"per subset, float64", 0, kidFloat32Work, tolMMD},
		{"union, float32", kidGramLimit, 0, tolFloat32},
		{"per subset, float32", 0, 0, tolFloat32},
	} {
		func() {
			defer func(l int, w float64) { kidGramLimit, kidFloat32Work = l, w }(kidGramLimit, kidFloat32Work)
			kidGramLimit, kidFloat32Work = tc.limit, tc.work
			vals := kidOnSubsets(a, b, subsets)
			require.Len(t, vals, len(wantSubs), "subset values")
			var worst float64
			for i, v := range vals {
				w := wantSubs[i].(float64)
				worst = max(worst, relErr(v, w))
				assert.InEpsilon(t, w, v, tc.tol, "%s: subset %d MMD²", tc.name, i)
			}
			t.Logf("%s: largest relative error %.3g", tc.name, worst)
		}()
	}
}

func TestGoldenPrecisionRecall(t *testing.T) {
	f := loadGolden(t)
	a, b := goldenFeatures(t, f, "a"), goldenFeatures(t, f, "b")
	defer func(w float64) { prFloat32Work = w }(prFloat32Work)
	for _, tc := range []struct {
		k    int
		work float64
	}{{3, prFloat32Work}, {5, prFloat32Work}, {3, 0}, {5, 0}} { // float64, then float32 dot products
		k := tc.k
		prFloat32Work = tc.work
		p, r := PrecisionRecall(a, b, k)
		wp := metaFloat(t, f, "precision_ab_k"+string(rune('0'+k)))
		wr := metaFloat(t, f, "recall_ab_k"+string(rune('0'+k)))
		assert.Equal(t, [2]float64{wp, wr}, [2]float64{p.Value, r.Value}, "PrecisionRecall(a, b, %d): precision, recall", k)
		assert.Equal(t, k, p.K, "PrecisionRecall(a, b, %d): K", k)
		assert.Equal(t, [2]int{200, 200}, [2]int{p.N1, p.N2}, "PrecisionRecall(a, b, %d): N1, N2", k)
		assert.Equal(t, "precision", p.Metric)
		assert.Equal(t, "recall", r.Metric)
	}
}
