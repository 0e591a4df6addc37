package optim_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// bigParams returns two parameters of n elements in total with gradients.
func bigParams(n int) []optim.NamedParam {
	r := rand.New(rand.NewPCG(1, 2))
	var ps []optim.NamedParam
	for i, size := range []int{n - n/4, n / 4} {
		p := nn.NewParam(tensor.RandN(r, size))
		p.Grad = tensor.RandN(r, size)
		ps = append(ps, optim.NamedParam{Name: fmt.Sprint("p", i), Param: p})
	}
	return ps
}

var benchOptimizers = []struct {
	name string
	make func([]optim.NamedParam) optim.Optimizer
}{
	{"Adam", func(ps []optim.NamedParam) optim.Optimizer {
		c := optim.DefaultAdam()
		c.WeightDecay = 1e-4
		return optim.NewAdam(ps, c)
	}},
	{"AdamW", func(ps []optim.NamedParam) optim.Optimizer { return optim.NewAdamW(ps, optim.DefaultAdamW()) }},
	{"SGD", func(ps []optim.NamedParam) optim.Optimizer {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 1e-3, Momentum: 0.9, Nesterov: true})
	}},
	{"RMSprop", func(ps []optim.NamedParam) optim.Optimizer {
		c := optim.DefaultRMSprop()
		c.Momentum, c.Centered = 0.9, true
		return optim.NewRMSprop(ps, c)
	}},
}

// TestStepAllocs checks that after the first step (which allocates the
// state) Step, ZeroGrad, ClipGradNorm and a Scheduler step allocate nothing.
func TestStepAllocs(t *testing.T) {
	for _, bo := range benchOptimizers {
		ps := bigParams(1000)
		opt := bo.make(ps)
		sc := optim.NewScheduler(opt, optim.Warmup(10, optim.Cosine(100)))
		opt.Step()
		n := testing.AllocsPerRun(20, func() {
			optim.ClipGradNorm(opt.Params(), 1)
			opt.Step()
			sc.Step()
		})
		assert.Zero(t, n, "%s: allocations per step", bo.name)
		assert.Zero(t, testing.AllocsPerRun(20, opt.ZeroGrad), "%s: allocations per ZeroGrad", bo.name)
	}
}

// BenchmarkAdam/step/1M and its siblings time one Step over a million
// parameters; the state is allocated before the timer starts.
func BenchmarkAdam(b *testing.B)    { benchStep(b, 0) }
func BenchmarkAdamW(b *testing.B)   { benchStep(b, 1) }
func BenchmarkSGD(b *testing.B)     { benchStep(b, 2) }
func BenchmarkRMSprop(b *testing.B) { benchStep(b, 3) }

func benchStep(b *testing.B, which int) {
	const n = 1 << 20
	b.Run("step/1M", func(b *testing.B) {
		ps := bigParams(n)
		opt := benchOptimizers[which].make(ps)
		opt.Step()
		b.ReportAllocs()
		b.SetBytes(n * 4)
		b.ResetTimer()
		for b.Loop() {
			opt.Step()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/param")
	})
}

// BenchmarkClipGradNorm/1M times clipping a million gradients.
func BenchmarkClipGradNorm(b *testing.B) {
	b.Run("1M", func(b *testing.B) {
		ps := bigParams(1 << 20)
		b.ReportAllocs()
		for b.Loop() {
			optim.ClipGradNorm(ps, 1e-3)
		}
	})
}
