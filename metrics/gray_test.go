package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.Same(t, g, Gray(), "Gray() is one extractor")
	require.Equal(t, GrayName, g.Name())
	require.Equal(t, 128, g.Dim())
	for _, k := range []string{"test_accuracy.mnist-t10k-28", "test_accuracy.fashion-t10k-32", "epochs", "seed", "data"} {
		assert.NotEmpty(t, g.Meta()[k], "weights metadata lacks %q: %v", k, g.Meta())
	}
	eval, err := shipped.FashionMNISTEval()
	require.NoError(t, err)
	x, labels := firstImages(t, eval, 300)

	// Deterministic, and independent of how images are batched.
	a, b := g.Features(x), g.Features(x)
	assert.True(t, tensor.Equal(a, b), "Features is not repeatable")
	part := g.Features(tensor.Slice(x, 0, 100, 137))
	assert.True(t, tensor.AllClose(part, tensor.Slice(a, 0, 100, 137), tolFloat32, tolFloat32), "features of a sub-batch differ from those in the full batch")
	// RGB input is averaged to gray.
	assert.True(t, tensor.AllClose(g.Features(tensor.Concat(1, x, x, x)), a, tolFloat32, tolFloat32), "features of gray images repeated to RGB differ")

	// The classifier behind the features works on held-out clothes.
	pred := tensor.ArgMax(g.Classify(x), 1)
	correct := 0
	for i, p := range pred {
		if p == labels[i]+10 {
			correct++
		}
	}
	assert.GreaterOrEqual(t, float64(correct)/float64(len(pred)), 0.85, "accuracy on %d Fashion-MNIST test images", len(pred))

	assertPanics(t, "metrics: GrayExtractor.Features:", func() { g.Features(tensor.Zeros(2, 2, 8, 8)) }, "two-channel images")
}

// On gray features, two halves of one dataset are close and two datasets far.
func TestGrayFIDSeparatesDomains(t *testing.T) {
	digits, err := shipped.MNIST(data.Resolution(32))
	require.NoError(t, err)
	clothes, err := shipped.FashionMNISTEval(data.Resolution(32))
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	d1, d2 := data.Split(data.Subset(digits, 800, r), 400, r)
	o := Options{BatchSize: 100}
	f1 := DatasetFeatures(Gray(), d1, o)
	f2 := DatasetFeatures(Gray(), d2, o)
	fc := DatasetFeatures(Gray(), data.Subset(clothes, 400, r), o)
	same, diff := FID(f1.Stats(), f2.Stats()), FID(f1.Stats(), fc.Stats())
	t.Logf("%v\n%v", same, diff)
	require.False(t, math.IsNaN(same.Value), "FID digits/digits")
	assert.Greater(t, diff.Value, 5*same.Value, "FID digits/clothes %v against digits/digits %v: far larger", diff, same)
	assert.Regexp(t, `^FID \(gantry-gray features\) = `, same.String())
	assert.Equal(t, [2]int{400, 400}, [2]int{same.N1, same.N2}, "N1, N2")
}
