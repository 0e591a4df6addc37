package autograd

import (
	"fmt"
	"sync/atomic"

	"github.com/gantry-go/gantry/tensor"
)

// Var is a node of the computation graph: a tensor value, whether gradients
// flow to it, and, for results of operations, the operation that made it.
type Var struct {
	// Value is the tensor this Var holds. Treat it as read-only.
	Value *tensor.Tensor
	// Grad accumulates d(loss)/d(Value) for a leaf that requires gradients,
	// filled by Backward. It is nil until the first Backward reaches it.
	Grad *tensor.Tensor

	requiresGrad bool
	fn           *node
}

// node records how a Var was made: the primitive with the attributes its
// backward rule needs, and its inputs.
type node struct {
	prim   primitive
	inputs []*Var
	out    *Var
}

// Const returns a Var holding t that does not require gradients.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t} }

// Leaf returns a Var holding t that requires gradients: Backward fills its
// Grad, and Grad can differentiate with respect to it.
func Leaf(t *tensor.Tensor) *Var { return &Var{Value: t, requiresGrad: true} }

// Scalar returns a constant Var of shape [] holding v.
func Scalar(v float32) *Var { return Const(tensor.Scalar(v)) }

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad turns gradient tracking of a leaf on or off (freezing a
// parameter). It returns v.
//
// It panics if v is the result of a recorded operation.
func (v *Var) SetRequiresGrad(on bool) *Var {
	if v.fn != nil {
		panic(fmt.Sprintf("autograd: SetRequiresGrad: %v result is not a leaf; use Detach", v.fn.prim.op()))
	}
	v.requiresGrad = on
	return v
}

// IsLeaf reports whether v was not made by a recorded operation.
func (v *Var) IsLeaf() bool { return v.fn == nil }

// Op returns the primitive operation that made v, or OpNone for a leaf or
// a constant.
func (v *Var) Op() Op {
	if v.fn == nil {
		return OpNone
	}
	return v.fn.prim.op()
}

// Shape returns the shape of v's value. The caller must not modify it.
func (v *Var) Shape() []int { return v.Value.Shape() }

// Item returns the single value of a one-element Var.
//
// It panics if v does not hold exactly one element.
func (v *Var) Item() float32 { return v.Value.Item() }

// Detach returns a constant Var sharing v's value, cut from the graph.
func (v *Var) Detach() *Var { return Const(v.Value) }

// ZeroGrad drops the accumulated gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// String describes v by its operation and value.
func (v *Var) String() string {
	op := v.Op().String()
	if v.fn == nil {
		op = "leaf"
	}
	return fmt.Sprintf("Var(%s, %v)", op, v.Value)
}

var noGradDepth atomic.Int32

// GradEnabled reports whether operations currently record graphs.
func GradEnabled() bool { return noGradDepth.Load() == 0 }

// NoGrad runs fn with graph recording switched off: operations inside it
// return constants. Calls nest.
//
// The switch is process-wide, like a global torch.no_grad, not scoped to
// the goroutine: while any goroutine is inside NoGrad, no goroutine records.
// Use it only where nothing else trains at the same time (a sampling or
// evaluation phase between training steps). A loss computed while another
// goroutine held the switch has no graph, and Backward on it panics rather
// than skipping the step. NoGrad only saves memory: code that runs
// alongside training can instead Detach its inputs (operations on
// constants record nothing) or simply drop the graph, which is garbage once
// its result is.
func NoGrad(fn func()) {
	noGradDepth.Add(1)
	defer noGradDepth.Add(-1)
	fn()
}

// record wraps value as the result of op on inputs, recording the graph
// edge when gradients are enabled and some input requires them.
func record(prim primitive, value *tensor.Tensor, inputs ...*Var) *Var {
	out := &Var{Value: value}
	if !GradEnabled() {
		return out
	}
	for _, in := range inputs {
		if in.requiresGrad {
			out.requiresGrad = true
			out.fn = &node{prim: prim, inputs: inputs, out: out}
			break
		}
	}
	return out
}
