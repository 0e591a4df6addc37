package metrics

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDatasetFeaturesInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	imgs := tensor.RandU(r, -1, 1, 23, 1, 3, 2)
	ds := data.FromTensor(imgs, nil, nil)
	ext := Pixels{C: 1, H: 3, W: 2}
	for _, o := range []Options{{BatchSize: 1, Workers: 1}, {BatchSize: 5, Workers: 3}, {BatchSize: 50}} {
		f := DatasetFeatures(ext, ds, o)
		require.Equal(t, 23, f.Len(), "%+v: features", o)
		require.Equal(t, 6, f.Dim(), "%+v: dimension", o)
		require.Equal(t, "pixels", f.Name(), "%+v: name", o)
		assert.Equal(t, imgs.Data(), f.Tensor().Data(), "%+v: features are not the images in order", o)
	}
}

// countingSampler hands out batches of noise and counts how many are held
// at once: sampled and not yet through the extractor.
type countingSampler struct {
	live, peak atomic.Int64
}

func (c *countingSampler) sample(n int, r *rand.Rand) *tensor.Tensor {
	v := c.live.Add(1)
	for {
		p := c.peak.Load()
		if v <= p || c.peak.CompareAndSwap(p, v) {
			break
		}
	}
	return tensor.RandU(r, -1, 1, n, 1, 2, 2)
}

type countingExtractor struct {
	Pixels
	c *countingSampler
}

func (e countingExtractor) Features(x *tensor.Tensor) *tensor.Tensor {
	defer e.c.live.Add(-1)
	return e.Pixels.Features(x)
}

func TestSampleFeaturesDeterministicAndBounded(t *testing.T) {
	var ref *tensor.Tensor
	for _, workers := range []int{1, 2, 4} {
		c := &countingSampler{}
		ext := countingExtractor{Pixels{1, 2, 2}, c}
		f := SampleFeatures(ext, c.sample, 203, rand.New(rand.NewPCG(3, 4)), Options{BatchSize: 10, Workers: workers})
		require.Equal(t, 203, f.Len(), "workers %d: features", workers)
		if ref == nil {
			ref = f.Tensor()
		} else {
			assert.True(t, tensor.Equal(ref, f.Tensor()), "workers %d: features differ from those with 1 worker", workers)
		}
		assert.LessOrEqual(t, c.peak.Load(), int64(workers)+1, "workers %d: batches held at once", workers)
	}
}

type panicky struct{ Pixels }

func (panicky) Features(*tensor.Tensor) *tensor.Tensor { panic("boom") }

type wrongDim struct{ Pixels }

func (w wrongDim) Features(x *tensor.Tensor) *tensor.Tensor { return tensor.Zeros(x.Dim(0), 3) }

func TestStreamPanicsInCaller(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	good := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.Zeros(n, 1, 2, 2) }
	bad := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.Zeros(n+1, 1, 2, 2) }
	for _, tc := range []struct {
		name string
		fn   func()
		want string
	}{
		{"extractor panic", func() { SampleFeatures(panicky{Pixels{1, 2, 2}}, good, 30, r, Options{BatchSize: 4}) }, "boom"},
		{"extractor shape", func() { SampleFeatures(wrongDim{Pixels{1, 2, 2}}, good, 30, r, Options{BatchSize: 4}) }, "metrics: SampleFeatures: extractor"},
		{"sampler shape", func() { SampleFeatures(Pixels{1, 2, 2}, bad, 30, r, Options{}) }, "metrics: SampleFeatures: sampler"},
		{"image shape", func() { SampleFeatures(Pixels{1, 3, 2}, good, 30, r, Options{}) }, "metrics: Pixels.Features:"},
		{"n", func() { SampleFeatures(Pixels{1, 2, 2}, good, 0, r, Options{}) }, "metrics: SampleFeatures:"},
		{"nil rand", func() { SampleFeatures(Pixels{1, 2, 2}, good, 3, nil, Options{}) }, "metrics: SampleFeatures:"},
		{"options", func() { SampleFeatures(Pixels{1, 2, 2}, good, 3, r, Options{BatchSize: -1}) }, "metrics: SampleFeatures:"},
	} {
		assertPanics(t, tc.want, tc.fn, tc.name)
	}
}

// A "generator" that returns real held-out images scores better on every
// metric than one that emits noise.
func TestEvaluateOrdersGenerators(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	// Two "classes" of 4x4 images: horizontal and vertical gradients, noisy.
	mk := func(n int, r *rand.Rand) *tensor.Tensor {
		x := tensor.New(n, 1, 4, 4)
		d := x.Data()
		for i := range n {
			vert := r.IntN(2) == 0
			for p := range 16 {
				v := float32(p%4)/1.5 - 1
				if vert {
					v = float32(p/4)/1.5 - 1
				}
				d[i*16+p] = v + float32(r.NormFloat64())*0.1
			}
		}
		return x
	}
	real := data.FromTensor(mk(300, r), nil, nil)
	good := Sampler(mk)
	noise := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.RandU(r, -1, 1, n, 1, 4, 4) }
	o := Options{BatchSize: 32, KID: KIDOptions{Subsets: 20, SubsetSize: 100}}
	ext := Pixels{1, 4, 4}
	g := Evaluate(ext, real, good, 300, rand.New(rand.NewPCG(1, 1)), o)
	b := Evaluate(ext, real, noise, 300, rand.New(rand.NewPCG(1, 1)), o)
	t.Logf("good generator:\n%v\nnoise:\n%v", g, b)
	assert.Less(t, g.FID.Value, b.FID.Value, "FID: the good generator against noise")
	assert.Less(t, g.KID.Value, b.KID.Value, "KID: the good generator against noise")
	assert.Greater(t, g.Precision.Value, b.Precision.Value, "precision: the good generator against noise")
	assert.Greater(t, g.Recall.Value, b.Recall.Value, "recall: the good generator against noise")
	assert.Equal(t, "pixels", g.FID.Extractor)
	assert.Equal(t, [2]int{300, 300}, [2]int{g.FID.N1, g.FID.N2}, "FID's N1, N2")
	// An Evaluator keeps the real features and gives the same report.
	ev := NewEvaluator(ext, real, o)
	assert.Equal(t, g, ev.Evaluate(good, 300, rand.New(rand.NewPCG(1, 1))), "Evaluator.Evaluate")
	assert.Equal(t, 300, ev.Real().Len(), "real features the Evaluator holds")
}
