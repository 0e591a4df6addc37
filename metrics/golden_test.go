package metrics

import (
	"math"
	"testing"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/tensor"
)

// Reference values from scripts/golden/gen_metrics.py (numpy, scipy).
func loadGolden(t *testing.T) *golden.File {
	t.Helper()
	f, err := golden.Read("testdata/features.json")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func goldenFeatures(t *testing.T, f *golden.File, name string) *Features {
	t.Helper()
	g, ok := f.Tensors[name]
	if !ok {
		t.Fatalf("golden tensor %q missing", name)
	}
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
	if !ok {
		t.Fatalf("golden meta %q missing or not a number", key)
	}
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
		if e := relErr(got.Value, want); e > 1e-6 {
			t.Errorf("FID(%s, %s) = %.15g; want %.15g (scipy sqrtm), relative error %.3g", tc.x, tc.y, got.Value, want, e)
		} else {
			t.Logf("FID(%s, %s) = %.15g, scipy %.15g, relative error %.3g", tc.x, tc.y, got.Value, want, e)
		}
		// The same distance computed in numpy through eigh, not sqrtm. With
		// singular covariances the square roots of round-off eigenvalues
		// (about 1e-15) differ between implementations by about 1e-8 each.
		if w := metaFloat(t, f, tc.key+"_eigh"); relErr(got.Value, w) > 1e-7 {
			t.Errorf("FID(%s, %s) = %.15g; want %.15g (numpy eigh)", tc.x, tc.y, got.Value, w)
		}
		if got.N1 != x.Len() || got.N2 != y.Len() || got.Extractor != "golden" {
			t.Errorf("FID(%s, %s) = %+v; want counts %d/%d and extractor golden", tc.x, tc.y, got, x.Len(), y.Len())
		}
	}
}

func TestGoldenKID(t *testing.T) {
	f := loadGolden(t)
	a, b := goldenFeatures(t, f, "a"), goldenFeatures(t, f, "b")

	got := MMD2(a, b)
	want := metaFloat(t, f, "mmd2_ab")
	if e := relErr(got, want); e > 1e-9 {
		t.Errorf("MMD2(a, b) = %.15g; want %.15g, relative error %.3g", got, want, e)
	}

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
		{"union, float64", kidGramLimit, kidFloat32Work, 1e-9},
		{"per subset, float64", 0, kidFloat32Work, 1e-9},
		{"union, float32", kidGramLimit, 0, 1e-5},
		{"per subset, float32", 0, 0, 1e-5},
	} {
		func() {
			defer func(l int, w float64) { kidGramLimit, kidFloat32Work = l, w }(kidGramLimit, kidFloat32Work)
			kidGramLimit, kidFloat32Work = tc.limit, tc.work
			vals := kidOnSubsets(a, b, subsets)
			if len(vals) != len(wantSubs) {
				t.Fatalf("%d subset values; want %d", len(vals), len(wantSubs))
			}
			var worst float64
			for i, v := range vals {
				w := wantSubs[i].(float64)
				worst = max(worst, relErr(v, w))
				if e := relErr(v, w); e > tc.tol {
					t.Errorf("%s: subset %d MMD² = %.15g; want %.15g, relative error %.3g", tc.name, i, v, w, e)
				}
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
		if p.Value != wp || r.Value != wr {
			t.Errorf("PrecisionRecall(a, b, %d) = %v, %v; want %v, %v", k, p.Value, r.Value, wp, wr)
		}
		if p.K != k || p.N1 != 200 || p.N2 != 200 || p.Metric != "precision" || r.Metric != "recall" {
			t.Errorf("PrecisionRecall(a, b, %d) results %+v, %+v", k, p, r)
		}
	}
}
