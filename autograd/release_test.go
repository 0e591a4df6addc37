package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/internal/bufpool"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBackwardReleasesOnlyDeadBuffers differentiates graphs whose gradients
// alias one another (an input used twice, a gradient passed through to two
// inputs, a Reshape view, a broadcast undone by SumTo, a gradient-penalty
// double backward) with the memory pool poisoned: every buffer backprop
// releases is filled with NaN, so reading one after its release changes the
// result. The gradients must equal, bit for bit, those of a run with the
// pool as usual, and buffers must have been released.
// total sums every element of x.
func total(x *Var) *Var { return Sum(x, false) }

func TestBackwardReleasesOnlyDeadBuffers(t *testing.T) {
	const n = 2 * bufpool.MinLen // big enough to be pooled
	graphs := map[string]func(x, w *Var) *Var{
		"input used twice": func(x, w *Var) *Var {
			return total(Mul(Add(x, x), Mul(x, w)))
		},
		"passed through to two inputs": func(x, w *Var) *Var {
			h := Add(Mul(x, w), Scale(x, 3))
			return total(Mul(Add(h, Tanh(h)), h))
		},
		"reshape view": func(x, w *Var) *Var {
			h := Reshape(Mul(x, w), 4, n/4)
			return total(Square(Reshape(Add(h, h), n)))
		},
		"broadcast undone": func(x, w *Var) *Var {
			b := Reshape(Slice(w, 0, 0, n/8), 1, n/8)
			return total(Square(Add(Reshape(x, 8, n/8), b)))
		},
		"double backward": func(x, w *Var) *Var {
			h := Mul(Tanh(Mul(x, w)), w)
			g := Grad(total(Square(h)), []*Var{x}, CreateGraph())[0]
			return Add(total(Square(g)), total(h))
		},
	}
	for name, f := range graphs {
		t.Run(name, func(t *testing.T) {
			grads := func(poison bool) [2][]float32 {
				was := bufpool.SetPoison(poison)
				defer bufpool.SetPoison(was)
				r := rand.New(rand.NewPCG(1, 2))
				x := Leaf(tensor.RandU(r, -1, 1, n))
				w := Leaf(tensor.RandU(r, -1, 1, n))
				Backward(f(x, w))
				return [2][]float32{x.Grad.Data(), w.Grad.Data()}
			}
			want := grads(false)
			puts := bufpool.ReadStats().Puts
			got := grads(true)
			require.Equal(t, want, got, "gradients differ when released buffers are poisoned")
			assert.Greater(t, bufpool.ReadStats().Puts, puts, "no buffer was released")
		})
	}
}
