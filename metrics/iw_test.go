package metrics

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	rest, train := data.Split(all, 400, r)
	pool, eval := data.Split(rest, 300, r)
	noise := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.RandU(r, -1, 1, n, 1, 16, 16) }
	o := IWOptions{Steps: 150, BatchSize: 32, LR: 1e-3, Width: 8}
	start := time.Now()
	var got []Result
	for _, g := range []Sampler{poolSampler(pool, 0), poolSampler(pool, 0.5), noise} {
		res, err := IW(g, train, eval, rand.New(rand.NewPCG(3, 4)), o)
		require.NoError(t, err)
		got = append(got, res)
	}
	t.Logf("real %v\nnoisy %v\nnoise %v\n(%v)", got[0], got[1], got[2], time.Since(start))
	assert.Greater(t, got[0].Value, got[1].Value, "IW of the real generator against the noisy one")
	assert.Greater(t, got[1].Value, got[2].Value, "IW of the noisy generator against noise")
	assert.Negative(t, got[2].Value, "IW of noise")
	r0 := got[0]
	assert.Equal(t, "IW", r0.Metric)
	assert.Equal(t, [3]int{300, 300, 150}, [3]int{r0.N1, r0.N2, r0.Steps}, "N1, N2, Steps")
	assert.Empty(t, r0.Extractor)
	// Deterministic by seed.
	again, err := IW(poolSampler(pool, 0), train, eval, rand.New(rand.NewPCG(3, 4)), o)
	require.NoError(t, err, "IW rerun")
	assert.Equal(t, got[0], again, "IW rerun")
}

func TestIWDivergenceIsAnError(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ds := data.FromTensor(tensor.RandU(r, -1, 1, 20, 1, 8, 8), nil, nil)
	nan := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.Full(float32(0)/zero, n, 1, 8, 8) }
	_, err := IW(nan, ds, ds, r, IWOptions{Steps: 3, BatchSize: 4, Width: 2})
	var ie *IWError
	if assert.ErrorAs(t, err, &ie, "IW with a NaN generator") {
		assert.Zero(t, ie.Step, "IW with a NaN generator: the step of the error")
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
		assertPanics(t, "metrics: ", tc.fn, tc.name)
	}
}
