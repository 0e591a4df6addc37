package autograd

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// trainingStep runs one critic step of a small WGAN-GP on random data and
// applies a plain gradient step, as a trainer would.
func trainingStep(r *rand.Rand, ps []*Var) float32 {
	w1, w2 := ps[0], ps[1]
	real := Const(tensor.RandU(r, -1, 1, 4, 2, 6, 6))
	fake := Const(tensor.RandU(r, -1, 1, 4, 2, 6, 6))
	eps := Const(tensor.RandU(r, 0, 1, 4, 1, 1, 1))
	d := func(x *Var) *Var {
		h := ReLU(Conv2d(x, w1, tensor.ConvParams{Padding: [2]int{1, 1}}))
		h = AvgPool2d(h, tensor.Window(2))
		return Sum(Conv2d(h, w2, tensor.ConvParams{}), false, 1, 2, 3)
	}
	xhat := Leaf(tensor.Add(tensor.Mul(eps.Value, real.Value), tensor.Mul(tensor.AddScalar(tensor.Neg(eps.Value), 1), fake.Value)))
	g := Grad(Sum(d(xhat), false), []*Var{xhat}, CreateGraph())[0]
	gp := Mean(Square(AddScalar(Norm(g, false, 1, 2, 3), -1)), false)
	loss := Add(Sub(MeanAll(d(fake)), MeanAll(d(real))), Scale(gp, 10))
	Backward(loss)
	NoGrad(func() {
		for _, p := range ps {
			p.Value = tensor.Sub(p.Value, tensor.Scale(p.Grad, 1e-3))
			p.ZeroGrad()
		}
	})
	return loss.Item()
}

func newStepParams(r *rand.Rand) []*Var {
	return []*Var{
		Leaf(tensor.RandU(r, -0.3, 0.3, 4, 2, 3, 3)),
		Leaf(tensor.RandU(r, -0.3, 0.3, 1, 4, 3, 3)),
	}
}

// TestGraphDoesNotLeak runs 1000 training-like steps with double backprop
// and checks that the live heap does not grow.
func TestGraphDoesNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("1000 steps")
	}
	r := rand.New(rand.NewPCG(3, 4))
	ps := newStepParams(r)
	live := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// Warm up pools and caches. They fill once, at the latest when a
	// worker first joins a kernel, which timing decides, so the heap is
	// compared between two later points: what the graph retained would
	// grow in proportion to the steps.
	for range 600 {
		trainingStep(r, ps)
	}
	before := live()
	for range 1000 {
		trainingStep(r, ps)
	}
	after := live()
	t.Logf("live heap: %d bytes before, %d after 1000 steps", before, after)
	assert.LessOrEqual(t, after, before+256<<10, "live heap after 1000 steps, from %d bytes", before)
}

func BenchmarkWGANGPStep(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	ps := newStepParams(r)
	b.ReportAllocs()
	for b.Loop() {
		trainingStep(r, ps)
	}
}
