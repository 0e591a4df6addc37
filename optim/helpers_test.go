package optim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// toy is a small module for the tests: y = tanh(x@W + b)·v, loss = mean(y²)
// summed with a pull towards a target, enough to give every parameter a
// non-trivial gradient.
type toy struct {
	W *nn.Param
	B *nn.Param `nn:"b"`
	V *nn.Param
}

func newToy(seed uint64) *toy {
	r := rand.New(rand.NewPCG(seed, 7))
	return &toy{
		W: nn.NewParam(tensor.RandN(r, 3, 4)),
		B: nn.NewParam(tensor.RandN(r, 4)),
		V: nn.NewParam(tensor.RandN(r, 4, 2)),
	}
}

// clone returns a toy holding copies of t's values.
func (t *toy) clone() *toy {
	return &toy{
		W: nn.NewParam(t.W.Value.Clone()),
		B: nn.NewParam(t.B.Value.Clone()),
		V: nn.NewParam(t.V.Value.Clone()),
	}
}

var toyX = tensor.FromSlice([]float32{
	0.5, -1, 0.25,
	-0.75, 0.3, 1.2,
	0.1, 0.9, -0.6,
	1.1, -0.2, 0.4,
	-0.3, -0.8, 0.7,
}, 5, 3)

// backward computes the loss at step k (the target changes with k, so
// momentum matters) and fills the gradients.
func (t *toy) backward(k int) {
	h := autograd.Tanh(autograd.Add(autograd.MatMul(autograd.Const(toyX), t.W.Var), t.B.Var))
	y := autograd.MatMul(h, t.V.Var)
	target := autograd.Scalar(float32(k%3) * 0.1)
	loss := autograd.Mean(autograd.Square(autograd.Sub(y, target)), false)
	autograd.Backward(loss)
}

// equalValues reports whether two toys' parameters are bit-identical.
func equalValues(a, b *toy) bool {
	return tensor.Equal(a.W.Value, b.W.Value) && tensor.Equal(a.B.Value, b.B.Value) && tensor.Equal(a.V.Value, b.V.Value)
}

// panics returns the message fn panicked with, or "" if it did not.
func panics(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	fn()
	return ""
}

func mustPanic(t *testing.T, what, want string, fn func()) {
	t.Helper()
	if msg := panics(fn); assert.NotEmpty(t, msg, "%s did not panic", what) {
		assert.Contains(t, msg, want, "%s: the panic", what)
	}
}

// assertTensor asserts that got has want's shape and exactly its values.
func assertTensor(t *testing.T, want, got *tensor.Tensor, msgAndArgs ...any) bool {
	t.Helper()
	return assert.Equal(t, want.Shape(), got.Shape(), msgAndArgs...) && assert.Equal(t, want.Data(), got.Data(), msgAndArgs...)
}

// makers builds each optimizer kind with settings that use all its state.
var makers = []struct {
	name string
	make func(ps []optim.NamedParam) optim.Optimizer
}{
	{"Adam", func(ps []optim.NamedParam) optim.Optimizer {
		c := optim.DefaultAdam()
		c.LR, c.Beta1, c.Beta2, c.WeightDecay = 1e-2, 0, 0.9, 1e-3
		return optim.NewAdam(ps, c)
	}},
	{"AdamW", func(ps []optim.NamedParam) optim.Optimizer {
		c := optim.DefaultAdamW()
		c.LR = 1e-2
		return optim.NewAdamW(ps, c)
	}},
	{"SGD", func(ps []optim.NamedParam) optim.Optimizer {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3})
	}},
	{"RMSprop", func(ps []optim.NamedParam) optim.Optimizer {
		c := optim.DefaultRMSprop()
		c.LR, c.Momentum, c.Centered = 1e-3, 0.5, true
		return optim.NewRMSprop(ps, c)
	}},
}
