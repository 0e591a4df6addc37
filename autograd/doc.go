// Package autograd is gantry's reverse-mode automatic differentiation,
// define-by-run: every operation on a *Var computes its value at once and,
// when an input requires gradients, records itself in a graph that Backward
// and Grad walk in reverse.
//
// # Gradients of gradients
//
// Every backward rule (rules.go holds them all, one method per primitive
// operation) is written with the operations of this package, on *Var
// values, never on raw buffers. When Grad is called with CreateGraph,
// the gradients it returns are themselves recorded, so they can be
// differentiated again, to any order. This is what the WGAN-GP gradient
// penalty needs: it trains a critic on the norm of its own input gradient.
// Convolution's input- and weight-gradients are operations in their own
// right, whose derivatives are again convolutions.
//
// Composite operations (Neg, Square, Rsqrt, Abs, Softplus, Variance,
// per-sample norms) are built from primitives and need no rule of their own.
//
// # Typed operations
//
// A primitive is a small struct holding its attributes (a scale factor, the
// axes of a reduction, a convolution's parameters) whose backward method is
// its rule; Op enumerates them and Var.Op reports which made a Var. A
// misspelt operation or a wrong attribute type is a compile error, not a
// failure at backward time. Ops that broadcast return their gradients in
// the output's shape and the graph walk sums each down to its input's shape,
// in one place.
//
// # Recording
//
// A graph is recorded only while gradients are enabled (see NoGrad) and only
// for operations that have an input requiring gradients. Leaves that require
// gradients are made with Leaf (or SetRequiresGrad); everything else is a
// constant. A first-order Backward or Grad returns constants and keeps no
// graph of its own work, so the forward graph is garbage as soon as the
// caller drops the loss. Backward and Grad never use the NoGrad switch, so
// training in one goroutine is not disturbed by a Backward in another.
//
// # Memory and concurrency
//
// A Var's Value is never modified by this package after creation (Backward
// writes only to Grad fields of leaves). The NoGrad switch is process-wide,
// like a global torch.no_grad: do not use it in one goroutine while another
// records a graph (that graph would be missing, and its Backward panics
// because the loss requires no gradients). It only saves memory: a graph that nobody differentiates
// costs no arithmetic, and is garbage once its result is dropped, so
// inference code that returns plain tensors may simply run without it.
package autograd
