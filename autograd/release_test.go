package autograd

import (
	"math"
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

// TestFreeKeepsLeaves frees a graph in poison mode: the computed values turn
// to NaN, the leaves, constants and views of them do not.
func TestFreeKeepsLeaves(t *testing.T) {
	const n = 2 * bufpool.MinLen
	was := bufpool.SetPoison(true)
	defer bufpool.SetPoison(was)
	r := rand.New(rand.NewPCG(1, 2))
	w := Leaf(tensor.RandU(r, -1, 1, n))
	x := Const(tensor.RandU(r, -1, 1, n))
	wv, xv := w.Value.Clone(), x.Value.Clone()
	view := Reshape(w, 2, n/2) // shares w's storage
	h := Tanh(Mul(Reshape(view, n), x))
	loss := Sum(Square(h), false)
	Backward(loss)
	Free(loss)
	assert.Equal(t, wv.Data(), w.Value.Data(), "the parameter was freed")
	assert.Equal(t, xv.Data(), x.Value.Data(), "the constant was freed")
	assert.Equal(t, wv.Data(), view.Value.Data(), "a view of the parameter was freed")
	assert.True(t, math.IsNaN(float64(h.Value.Data()[0])), "a computed value was not freed")
	Free(nil)
	Free(w) // a leaf: nothing to free
	assert.Equal(t, wv.Data(), w.Value.Data())
}

// halfSquare is x²/2 with a rule that returns the input's own value as its
// gradient, which is right only for an output gradient of ones: a rule that
// hands backprop a forward value, as none of the package's rules does today.
type halfSquare struct{}

func (halfSquare) op() Op { return OpNone }

func (halfSquare) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Const(n.inputs[0].Value)}
}

// TestBackwardKeepsForwardValues differentiates through a rule that returns
// a forward value as a gradient, with the pool poisoned: the value must
// survive the backward pass that consumes it, and the gradient must be right.
func TestBackwardKeepsForwardValues(t *testing.T) {
	const n = 2 * bufpool.MinLen
	was := bufpool.SetPoison(true)
	defer bufpool.SetPoison(was)
	r := rand.New(rand.NewPCG(3, 4))
	w := Leaf(tensor.RandU(r, -1, 1, n))
	c := Const(tensor.RandU(r, -1, 1, n))
	h := Mul(w, c)
	hv := h.Value.Clone()
	y := record(halfSquare{}, tensor.Scale(tensor.Mul(h.Value, h.Value), 0.5), h)
	Backward(Sum(y, false))
	assert.Equal(t, hv.Data(), h.Value.Data(), "the forward value handed back as a gradient was released")
	want := tensor.Mul(tensor.Mul(w.Value, c.Value), c.Value) // d(w·c)²/2 / dw
	assert.Equal(t, want.Data(), w.Grad.Data())
}
