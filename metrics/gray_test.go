package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/tensor"
)

func firstImages(t *testing.T, ds data.Dataset, n int) (*tensor.Tensor, []int) {
	t.Helper()
	sh := data.ImageShape(ds)
	per := sh[0] * sh[1] * sh[2]
	x := tensor.New(n, sh[0], sh[1], sh[2])
	labels := make([]int, n)
	for i := range n {
		copy(x.Data()[i*per:(i+1)*per], ds.Image(i).Data())
		labels[i] = ds.Label(i)
	}
	return x, labels
}

func TestGrayExtractor(t *testing.T) {
	g := Gray()
	if g != Gray() || g.Name() != GrayName || g.Dim() != 128 {
		t.Fatalf("Gray() = %p named %q of dimension %d", g, g.Name(), g.Dim())
	}
	for _, k := range []string{"test_accuracy.mnist-t10k-28", "test_accuracy.fashion-t10k-32", "epochs", "seed", "data"} {
		if g.Meta()[k] == "" {
			t.Errorf("weights metadata lacks %q: %v", k, g.Meta())
		}
	}
	eval, err := shipped.FashionMNISTEval()
	if err != nil {
		t.Fatal(err)
	}
	x, labels := firstImages(t, eval, 300)

	// Deterministic, and independent of how images are batched.
	a, b := g.Features(x), g.Features(x)
	if !tensor.Equal(a, b) {
		t.Error("Features is not repeatable")
	}
	part := g.Features(tensor.Slice(x, 0, 100, 137))
	if !tensor.AllClose(part, tensor.Slice(a, 0, 100, 137), 1e-5, 1e-5) {
		t.Error("features of a sub-batch differ from those in the full batch")
	}
	// RGB input is averaged to gray.
	if !tensor.AllClose(g.Features(tensor.Concat(1, x, x, x)), a, 1e-5, 1e-5) {
		t.Error("features of gray images repeated to RGB differ")
	}

	// The classifier behind the features works on held-out clothes.
	pred := tensor.ArgMax(g.Classify(x), 1)
	correct := 0
	for i, p := range pred {
		if p == labels[i]+10 {
			correct++
		}
	}
	if acc := float64(correct) / float64(len(pred)); acc < 0.85 {
		t.Errorf("accuracy on %d Fashion-MNIST test images = %.3f; want at least 0.85", len(pred), acc)
	}

	if msg := panics(func() { g.Features(tensor.Zeros(2, 2, 8, 8)) }); !strings.HasPrefix(msg, "metrics: GrayExtractor.Features:") {
		t.Errorf("two-channel images: panic %q", msg)
	}
}

// On gray features, two halves of one dataset are close and two datasets far.
func TestGrayFIDSeparatesDomains(t *testing.T) {
	digits, err := shipped.MNIST(data.Resolution(32))
	if err != nil {
		t.Fatal(err)
	}
	clothes, err := shipped.FashionMNISTEval(data.Resolution(32))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	d1, d2 := data.Split(data.Subset(digits, 800, r), 400, r)
	o := Options{BatchSize: 100}
	f1 := DatasetFeatures(Gray(), d1, o)
	f2 := DatasetFeatures(Gray(), d2, o)
	fc := DatasetFeatures(Gray(), data.Subset(clothes, 400, r), o)
	same, diff := FID(f1.Stats(), f2.Stats()), FID(f1.Stats(), fc.Stats())
	t.Logf("%v\n%v", same, diff)
	if !(diff.Value > 5*same.Value) || math.IsNaN(same.Value) {
		t.Errorf("FID digits/digits %v, digits/clothes %v; want the second far larger", same, diff)
	}
	if !strings.HasPrefix(same.String(), "FID (gantry-gray features) = ") || !slices.Equal([]int{same.N1, same.N2}, []int{400, 400}) {
		t.Errorf("result %v", same)
	}
}
