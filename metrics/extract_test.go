package metrics

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/tensor"
)

func TestDatasetFeaturesInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	imgs := tensor.RandU(r, -1, 1, 23, 1, 3, 2)
	ds := data.FromTensor(imgs, nil, nil)
	ext := Pixels{C: 1, H: 3, W: 2}
	for _, o := range []Options{{BatchSize: 1, Workers: 1}, {BatchSize: 5, Workers: 3}, {BatchSize: 50}} {
		f := DatasetFeatures(ext, ds, o)
		if f.Len() != 23 || f.Dim() != 6 || f.Name() != "pixels" {
			t.Fatalf("%+v: %d features of dimension %d named %q", o, f.Len(), f.Dim(), f.Name())
		}
		if !slices.Equal(f.Tensor().Data(), imgs.Data()) {
			t.Errorf("%+v: features are not the images in order", o)
		}
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
		if f.Len() != 203 {
			t.Fatalf("workers %d: %d features; want 203", workers, f.Len())
		}
		if ref == nil {
			ref = f.Tensor()
		} else if !tensor.Equal(ref, f.Tensor()) {
			t.Errorf("workers %d: features differ from those with 1 worker", workers)
		}
		if p := c.peak.Load(); p > int64(workers)+1 {
			t.Errorf("workers %d: %d batches held at once; want at most %d", workers, p, workers+1)
		}
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
		if msg := panics(tc.fn); !strings.HasPrefix(msg, tc.want) {
			t.Errorf("%s: panic %q; want prefix %q", tc.name, msg, tc.want)
		}
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
	if !(g.FID.Value < b.FID.Value && g.KID.Value < b.KID.Value && g.Precision.Value > b.Precision.Value && g.Recall.Value > b.Recall.Value) {
		t.Errorf("good generator\n%v\nnot better on every metric than noise\n%v", g, b)
	}
	if g.FID.Extractor != "pixels" || g.FID.N1 != 300 || g.FID.N2 != 300 {
		t.Errorf("result %+v", g.FID)
	}
	// An Evaluator keeps the real features and gives the same report.
	ev := NewEvaluator(ext, real, o)
	if again := ev.Evaluate(good, 300, rand.New(rand.NewPCG(1, 1))); again != g {
		t.Errorf("Evaluator.Evaluate = \n%v\nwant\n%v", again, g)
	}
	if ev.Real().Len() != 300 {
		t.Errorf("Evaluator holds %d real features; want 300", ev.Real().Len())
	}
}
