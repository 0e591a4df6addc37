package autograd_test

import (
	"fmt"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// The second derivative of x³ is 6x: differentiate the first derivative,
// recorded with CreateGraph, once more.
func ExampleGrad_secondOrder() {
	x := autograd.Leaf(tensor.FromSlice([]float32{2}))
	y := autograd.Pow(x, 3)
	dy := autograd.Grad(y, []*autograd.Var{x}, autograd.CreateGraph())[0]
	d2y := autograd.Grad(dy, []*autograd.Var{x})[0]
	fmt.Println("dy/dx   =", dy.Item())
	fmt.Println("d2y/dx2 =", d2y.Item())
	// Output:
	// dy/dx   = 12
	// d2y/dx2 = 12
}

// Backward fills the Grad of every leaf that requires gradients.
func ExampleBackward() {
	w := autograd.Leaf(tensor.FromSlice([]float32{1, 2, 3}))
	x := autograd.Const(tensor.FromSlice([]float32{4, 5, 6}))
	loss := autograd.Sum(autograd.Mul(w, x), false)
	autograd.Backward(loss)
	fmt.Println(loss.Item(), w.Grad.Data())
	// Output: 32 [4 5 6]
}
