package autograd

import (
	"fmt"
	"testing"

	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

func TestNoGradRecordsNothing(t *testing.T) {
	x := Leaf(tensor.Ones(2))
	var y *Var
	NoGrad(func() { y = Mul(x, x) })
	assert.False(t, y.RequiresGrad(), "op inside NoGrad recorded a graph: %v", y)
	assert.True(t, y.IsLeaf(), "op inside NoGrad recorded a graph: %v", y)
	assert.True(t, GradEnabled(), "NoGrad left recording off")
	z := Mul(x, x)
	assert.True(t, z.RequiresGrad(), "op outside NoGrad did not record: %v", z)
	assert.Equal(t, OpMul, z.Op())
}

func TestBackwardAccumulates(t *testing.T) {
	x := Leaf(tensor.FromSlice([]float32{3}))
	Backward(Square(x))
	Backward(Scale(x, 5))
	assert.Equal(t, float32(6+5), x.Grad.Item(), "accumulated grad")
	x.ZeroGrad()
	assert.Nil(t, x.Grad, "ZeroGrad left a gradient")
}

func TestGradUnusedInputIsZero(t *testing.T) {
	x, u := Leaf(tensor.Ones(3)), Leaf(tensor.Ones(2, 2))
	g := Grad(Sum(x, false), []*Var{x, u})
	assert.Equal(t, tensor.Ones(3).Data(), g[0].Value.Data())
	assert.Equal(t, tensor.New(2, 2).Data(), g[1].Value.Data(), "the unused input's gradient")
}

func TestGradDoesNotTouchLeafGrads(t *testing.T) {
	x := Leaf(tensor.Ones(2))
	Grad(Sum(Square(x), false), []*Var{x})
	assert.Nil(t, x.Grad, "Grad wrote x.Grad")
}

func TestFrozenLeafGetsNoGradient(t *testing.T) {
	w := Leaf(tensor.Ones(2)).SetRequiresGrad(false)
	x := Leaf(tensor.Ones(2))
	Backward(Sum(Mul(w, x), false))
	assert.Nil(t, w.Grad, "a frozen leaf's gradient")
	assert.NotNil(t, x.Grad)
}

func TestThirdOrder(t *testing.T) {
	// d³/dx³ sin-free check: x⁴ → 24x.
	x := Leaf(tensor.FromSlice([]float32{1.5}))
	g := Pow(x, 4)
	for range 3 {
		g = Grad(g, []*Var{x}, CreateGraph())[0]
	}
	assert.Equal(t, float32(36), g.Item(), "d³(x⁴)/dx³ at 1.5")
}

func TestGraphMisusePanics(t *testing.T) {
	cases := []struct {
		name, want string
		f          func()
	}{
		{"Grad/non-scalar", "autograd: Grad: output of shape [2] is not a single element", func() {
			x := Leaf(tensor.Ones(2))
			Grad(Square(x), []*Var{x})
		}},
		{"Grad/seed-shape", "autograd: Grad: seed shape [3] differs from output shape [2]", func() {
			x := Leaf(tensor.Ones(2))
			Grad(Square(x), []*Var{x}, Seed(Const(tensor.Ones(3))))
		}},
		{"Grad/nil-input", "autograd: Grad: input 1 of 2 is nil", func() {
			x := Leaf(tensor.Ones(2))
			Grad(Sum(x, false), []*Var{x, nil})
		}},
		{"Grad/nil-output", "autograd: Grad: output y is nil", func() { Grad(nil, []*Var{Leaf(tensor.Ones(2))}) }},
		{"Grad/const-input", "does not require gradients", func() {
			x := Const(tensor.Ones(2))
			Grad(Sum(x, false), []*Var{x})
		}},
		{"SetRequiresGrad/non-leaf", "autograd: SetRequiresGrad: Mul result is not a leaf", func() {
			x := Leaf(tensor.Ones(2))
			Mul(x, x).SetRequiresGrad(false)
		}},
		{"Backward/non-scalar", "autograd: Backward", func() { Backward(Leaf(tensor.Ones(2))) }},
		{"Backward/nothing to differentiate", "autograd: Backward: output [] does not require gradients", func() {
			Backward(Sum(Const(tensor.Ones(2)), false))
		}},
		{"Backward/inside NoGrad", "autograd: Backward: output [] does not require gradients", func() {
			x := Leaf(tensor.Ones(2))
			var y *Var
			NoGrad(func() { y = Sum(x, false) })
			Backward(y)
		}},
		{"Grad/unrelated output", "autograd: Grad: output [] does not require gradients", func() {
			Grad(Sum(Const(tensor.Ones(2)), false), []*Var{Leaf(tensor.Ones(1))})
		}},
		{"Conv2d/shapes", "tensor: Conv2d", func() {
			Conv2d(Leaf(tensor.Ones(1, 2, 4, 4)), Leaf(tensor.Ones(1, 3, 3, 3)), tensor.ConvParams{})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() { assert.Contains(t, fmt.Sprint(recover()), c.want, "the panic") }()
			c.f()
		})
	}
}

// TestBackwardLeavesOtherGoroutinesRecording checks that a first-order
// Backward does not switch recording off process-wide: another goroutine
// building a graph at the same time must keep its graph.
func TestBackwardLeavesOtherGoroutinesRecording(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := Leaf(tensor.Ones(64))
		for range 2000 {
			Backward(Sum(Tanh(Mul(w, w)), false))
		}
	}()
	x := Leaf(tensor.Ones(8))
	lost := 0
	for {
		select {
		case <-done:
			assert.Zero(t, lost, "ops that recorded no graph while another goroutine ran Backward")
			return
		default:
		}
		if y := Mul(x, x); !y.RequiresGrad() {
			lost++
		}
	}
}
