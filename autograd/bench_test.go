package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/tensor"
)

// BenchmarkUnary times the elementwise ops that are composites of other
// primitives (Square, Neg, Rsqrt, Abs), forward alone and forward plus a
// first-order backward, on a 1M-element tensor: the evidence that building
// them from primitives costs nothing that matters.
func BenchmarkUnary(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.AddScalar(tensor.Abs(tensor.RandN(r, 256, 4096)), 0.5)
	ops := []struct {
		name string
		f    func(*Var) *Var
	}{
		{"Square", Square}, {"Neg", Neg}, {"Rsqrt", Rsqrt}, {"Abs", Abs},
	}
	for _, op := range ops {
		b.Run(op.name+"/fwd", func(b *testing.B) {
			v := Const(x)
			for b.Loop() {
				op.f(v)
			}
		})
		b.Run(op.name+"/fwdbwd", func(b *testing.B) {
			v := Leaf(x)
			for b.Loop() {
				Grad(op.f(v), []*Var{v}, Seed(Const(x)))
			}
		})
	}
}
