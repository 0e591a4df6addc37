package transfer_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/gantry-go/gantry/transfer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

var tinyCfg = gan.Config{Resolution: 16, Channels: 1, Width: 2, ZDim: 8}

func tinySource(t *testing.T) *gan.Model {
	m, err := gan.New(tinyCfg, rng(1))
	require.NoError(t, err)
	return m
}

// tinyTarget returns n 16×16 gray images with labels 0..classes-1.
func tinyTarget(n, classes int) *data.Memory {
	x := tensor.RandU(rng(9), -1, 1, n, 1, 16, 16)
	labels := make([]int, n)
	for i := range labels {
		if classes > 0 {
			labels[i] = i % classes
		}
	}
	return data.FromTensor(x, labels, nil)
}

func snapshot(m *gan.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, part := range []struct {
		prefix string
		net    any
	}{{gan.PrefixG, m.G}, {gan.PrefixD, m.D}} {
		for name, p := range nn.Parameters(part.net) {
			out[part.prefix+name] = append([]float32(nil), p.Value.Data()...)
		}
	}
	return out
}

func equal(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

var zeroGradient = map[string]bool{"d.output.bias": true, "d.blocks.3.conv2.bias": true, "d.blocks.3.shortcut.bias": true}

// Each freeze policy changes exactly the parameters it leaves trainable.
func TestPoliciesChangeExactlyTheirParameters(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    transfer.Options
	}{
		{"plain", transfer.Options{}},
		{"freeze-d-2", transfer.Options{FreezeD: 2}},
		{"freeze-g-0-2", transfer.Options{FreezeG: []int{0, 2}}},
		{"norm-only", transfer.Options{NormOnly: true}},
		{"unfreeze-at-1", transfer.Options{FreezeD: 4, Unfreeze: []transfer.Unfreeze{{At: 1, Prefix: "d.blocks.3."}}}},
		{"lr-mult", transfer.Options{LRMult: map[string]float64{"g.blocks.": 10, "g.blocks.1.": 0.5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tinySource(t)
			o := tc.o
			o.Iterations, o.BatchSize, o.NCritic, o.LR = 2, 4, 2, 1e-3
			start, err := transfer.Target(src, o)
			require.NoError(t, err)
			before := snapshot(start)
			res, err := transfer.FineTune(context.Background(), src, tinyTarget(8, 0), o)
			require.NoError(t, err)
			after := snapshot(res.Model)
			for name, b := range before {
				// A parameter trained in any iteration (0 or 1) changed, but
				// for the biases that only shift the critic's output: the
				// Wasserstein loss and its penalty do not depend on them,
				// so their gradient is 0 (or rounding noise).
				trained := !o.Frozen(name, 0) || !o.Frozen(name, 1)
				if trained && zeroGradient[name] {
					continue
				}
				assert.Equal(t, trained, !equal(b, after[name]), "%s: trained %v", name, trained)
			}
		})
	}
}

func TestInitPolicies(t *testing.T) {
	src := tinySource(t)
	s := snapshot(src)
	for _, tc := range []struct {
		init     transfer.Init
		gSrc, dS bool
	}{{transfer.InitBoth, true, true}, {transfer.InitD, false, true}, {transfer.InitG, true, false}, {transfer.InitScratch, false, false}} {
		m, err := transfer.Target(src, transfer.Options{Init: tc.init, Seed: 3})
		require.NoError(t, err)
		got := snapshot(m)
		assert.Equal(t, tc.gSrc, equal(s["g.input.weight"], got["g.input.weight"]), "%s: G", tc.init)
		assert.Equal(t, tc.dS, equal(s["d.output.weight"], got["d.output.weight"]), "%s: D", tc.init)
	}
}

// A conditional target starts with every class's batch-norm tables equal to
// the source's batch norm, the label inputs random, and a new class head.
func TestConditionalTarget(t *testing.T) {
	src := tinySource(t)
	sd := nn.StateDict(src.G)
	for _, cond := range []gan.Conditioning{gan.CondBatchNorm, gan.CondConcat} {
		m, err := transfer.Target(src, transfer.Options{Classes: 3, Conditioning: cond, Seed: 4})
		require.NoError(t, err)
		require.NotNil(t, m.D.Classifier)
		td := nn.StateDict(m.G)
		for name, v := range td {
			s := sd[name]
			switch {
			case cond == gan.CondBatchNorm && v.Dims() == 2 && s.Dims() == 1:
				for k := range 3 {
					assert.Equal(t, s.Data(), v.Data()[k*s.Len():(k+1)*s.Len()], "%s class %d", name, k)
				}
			case name == "input.weight" && cond == gan.CondConcat:
				in := s.Dim(1)
				for r := range s.Dim(0) {
					assert.Equal(t, s.Data()[r*in:(r+1)*in], v.Data()[r*(in+3):r*(in+3)+in])
					assert.NotEqual(t, make([]float32, 3), v.Data()[r*(in+3)+in:(r+1)*(in+3)])
				}
			default:
				assert.Equal(t, s.Data(), v.Data(), name)
			}
		}
		// And it trains on labelled target data.
		_, err = transfer.FineTune(context.Background(), src, tinyTarget(8, 3), transfer.Options{Classes: 3, Conditioning: cond, Iterations: 1, BatchSize: 4, NCritic: 1})
		require.NoError(t, err)
	}
}

// Fisher agrees with the squared gradients that Backward leaves in .Grad,
// batch by batch, on the same samples.
func TestFisherDirect(t *testing.T) {
	src := tinySource(t)
	f := transfer.Fisher(src.G, src.D, 3, 2, rng(5))
	want := map[string][]float64{}
	r := rng(5)
	nn.SetTraining(src.G, false)
	for range 3 {
		for _, p := range nn.Parameters(src.G) {
			p.Grad = nil
		}
		z := autograd.Const(tensor.RandN(r, 2, tinyCfg.ZDim))
		d := src.D.Forward(src.G.Forward(z))
		ll := autograd.MeanAll(autograd.Neg(autograd.Softplus(autograd.Neg(d))))
		autograd.Backward(ll)
		for name, p := range nn.Parameters(src.G) {
			if want[name] == nil {
				want[name] = make([]float64, p.Value.Len())
			}
			for i, g := range p.Grad.Data() {
				want[name][i] += float64(g) * float64(g) / 3
			}
		}
	}
	nn.SetTraining(src.G, true)
	require.Len(t, f, len(want))
	for name, w := range want {
		for i, v := range f[name].Data() {
			assert.InDelta(t, w[i], float64(v), 1e-6*(1+math.Abs(w[i])), "%s[%d]", name, i)
		}
	}
}

// L2-SP and EWC keep the weights nearer the source than plain fine-tuning.
func TestRegularisersPullTowardsSource(t *testing.T) {
	src := tinySource(t)
	s := snapshot(src)
	dist := func(o transfer.Options) float64 {
		o.Iterations, o.BatchSize, o.NCritic, o.LR = 3, 4, 1, 1e-2
		res, err := transfer.FineTune(context.Background(), src, tinyTarget(8, 0), o)
		require.NoError(t, err)
		var d float64
		for name, v := range snapshot(res.Model) {
			if name[0] == 'g' {
				for i := range v {
					d += math.Pow(float64(v[i]-s[name][i]), 2)
				}
			}
		}
		return d
	}
	plain := dist(transfer.Options{})
	assert.Less(t, dist(transfer.Options{L2SP: 1e3}), plain)
	assert.Less(t, dist(transfer.Options{EWC: 1e8, EWCBatches: 2}), plain)
}

func TestFineTuneResumesExactly(t *testing.T) {
	src := tinySource(t)
	opts := func(dir string, iters int) transfer.Options {
		return transfer.Options{Iterations: iters, BatchSize: 4, NCritic: 2, LR: 1e-3, Seed: 2, Dir: dir, CheckpointEvery: 2,
			FreezeD: 1, L2SP: 1, Unfreeze: []transfer.Unfreeze{{At: 3, Prefix: "d.input."}}}
	}
	straight, split := t.TempDir(), t.TempDir()
	a, err := transfer.FineTune(context.Background(), src, tinyTarget(8, 0), opts(straight, 5))
	require.NoError(t, err)
	_, err = transfer.FineTune(context.Background(), src, tinyTarget(8, 0), opts(split, 2))
	require.NoError(t, err)
	o := opts(split, 5)
	o.Resume = true
	b, err := transfer.FineTune(context.Background(), src, tinyTarget(8, 0), o)
	require.NoError(t, err)
	require.Equal(t, 5, b.Report.Iteration)
	sa, sb := snapshot(a.Model), snapshot(b.Model)
	for name := range sa {
		assert.True(t, equal(sa[name], sb[name]), name)
	}
	// Other policies on resume are refused.
	o.FreezeD = 2
	_, err = transfer.FineTune(context.Background(), src, tinyTarget(8, 0), o)
	require.ErrorContains(t, err, "extra")
}

func TestErrors(t *testing.T) {
	src := tinySource(t)
	_, err := transfer.FineTune(context.Background(), src, data.FromTensor(tensor.New(4, 3, 32, 32), nil, nil), transfer.Options{})
	require.ErrorContains(t, err, "[3 32 32]")
	require.ErrorContains(t, err, "[1 16 16]")
	err = transfer.Options{Init: "half", FreezeD: 7, LRMult: map[string]float64{"x": -1}, BatchSize: -2}.Validate()
	require.Error(t, err)
	for _, want := range []string{"Init", "FreezeD", "LRMult", "BatchSize"} {
		assert.Contains(t, err.Error(), want)
	}
}

// RankSources puts first the candidate whose samples are the target.
func TestRankSources(t *testing.T) {
	a, _ := gan.New(tinyCfg, rng(1))
	b, _ := gan.New(tinyCfg, rng(2))
	target := data.FromTensor(a.G.Sample(64, rng(3)), nil, nil)
	rank, err := transfer.RankSources([]transfer.Candidate{{"b", b}, {"a", a}}, target, transfer.RankOptions{Seed: 1})
	require.NoError(t, err)
	require.Len(t, rank, 2)
	assert.Equal(t, "a", rank[0].Name)
	assert.Less(t, rank[0].FID.Value, rank[1].FID.Value)
	assert.Equal(t, "gantry-gray", rank[0].FID.Extractor)
}

func TestOpenSource(t *testing.T) {
	dir := t.TempDir()
	src := tinySource(t)
	require.NoError(t, gan.Save(dir+"/m.safetensors", src))
	m, err := transfer.OpenSource(dir + "/m.safetensors")
	require.NoError(t, err)
	assert.Equal(t, src.Config, m.Config)

	run := t.TempDir()
	_, err = gan.Train(context.Background(), src, tinyTarget(8, 0), gan.Options{Iterations: 1, BatchSize: 4, NCritic: 1, Dir: run})
	require.NoError(t, err)
	m, err = transfer.OpenSource(run)
	require.NoError(t, err)
	assert.Equal(t, src.Config, m.Config)

	_, err = transfer.OpenSource(dir + "/missing.safetensors")
	require.ErrorContains(t, err, "shipped:mnist")
	_, err = transfer.OpenSource("shipped:cifar")
	require.ErrorContains(t, err, "no shipped source")
}
