package metrics

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/tensor"
)

// poolSampler draws images at random (with replacement) from ds, plus
// Gaussian noise of standard deviation sigma clipped to [-1, 1].
func poolSampler(ds data.Dataset, sigma float32) Sampler {
	return func(n int, r *rand.Rand) *tensor.Tensor {
		sh := data.ImageShape(ds)
		per := sh[0] * sh[1] * sh[2]
		x := tensor.New(n, sh[0], sh[1], sh[2])
		d := x.Data()
		for i := range n {
			copy(d[i*per:(i+1)*per], ds.Image(r.IntN(ds.Len())).Data())
		}
		if sigma > 0 {
			for i := range d {
				d[i] = min(max(d[i]+sigma*float32(r.NormFloat64()), -1), 1)
			}
		}
		return x
	}
}

// IW ranks, on real MNIST digits, a "generator" that returns unseen real
// digits above one that returns noisy digits, and that above pure noise.
func TestIWOrdersGenerators(t *testing.T) {
	all, err := shipped.MNIST(data.Resolution(16))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	rest, train := data.Split(all, 400, r)
	pool, eval := data.Split(rest, 300, r)
	noise := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.RandU(r, -1, 1, n, 1, 16, 16) }
	o := IWOptions{Steps: 150, BatchSize: 32, LR: 1e-3, Width: 8}
	start := time.Now()
	var got []Result
	for _, g := range []Sampler{poolSampler(pool, 0), poolSampler(pool, 0.5), noise} {
		res, err := IW(g, train, eval, rand.New(rand.NewPCG(3, 4)), o)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res)
	}
	t.Logf("real %v\nnoisy %v\nnoise %v\n(%v)", got[0], got[1], got[2], time.Since(start))
	if !(got[0].Value > got[1].Value && got[1].Value > got[2].Value) {
		t.Errorf("IW of real, noisy and noise generators = %.4g, %.4g, %.4g; want decreasing", got[0].Value, got[1].Value, got[2].Value)
	}
	if got[2].Value >= 0 {
		t.Errorf("IW of noise = %v; want negative", got[2])
	}
	if r := got[0]; r.Metric != "IW" || r.N1 != 300 || r.N2 != 300 || r.Steps != 150 || r.Extractor != "" {
		t.Errorf("result fields %+v", r)
	}
	// Deterministic by seed.
	again, err := IW(poolSampler(pool, 0), train, eval, rand.New(rand.NewPCG(3, 4)), o)
	if err != nil || again != got[0] {
		t.Errorf("IW rerun = %v, %v; want %v", again, err, got[0])
	}
}

func TestIWDivergenceIsAnError(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ds := data.FromTensor(tensor.RandU(r, -1, 1, 20, 1, 8, 8), nil, nil)
	nan := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.Full(float32(0)/zero, n, 1, 8, 8) }
	_, err := IW(nan, ds, ds, r, IWOptions{Steps: 3, BatchSize: 4, Width: 2})
	var ie *IWError
	if !errors.As(err, &ie) || ie.Step != 0 {
		t.Errorf("IW with a NaN generator: error %v; want an *IWError at step 0", err)
	}
}

var zero float32

func TestIWMisusePanics(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a := data.FromTensor(tensor.Zeros(4, 1, 8, 8), nil, nil)
	b := data.FromTensor(tensor.Zeros(4, 1, 6, 6), nil, nil)
	g := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.Zeros(n, 1, 8, 8) }
	wrong := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.Zeros(n, 1, 6, 6) }
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"shapes", func() { IW(g, a, b, r, IWOptions{Steps: 1}) }},
		{"sampler", func() { IW(wrong, a, a, r, IWOptions{Steps: 1}) }},
		{"options", func() { IW(g, a, a, r, IWOptions{Steps: -1}) }},
		{"rand", func() { IW(g, a, a, nil, IWOptions{Steps: 1}) }},
		{"critic", func() { NewIWCritic(1, 8, 8, 0, r) }},
	} {
		if msg := panics(tc.fn); !strings.HasPrefix(msg, "metrics: ") {
			t.Errorf("%s: panic %q; want a metrics: message", tc.name, msg)
		}
	}
}
