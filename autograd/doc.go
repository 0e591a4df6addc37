// Package autograd is gantry's reverse-mode automatic differentiation,
// define-by-run: every operation on a *Var computes its value at once and,
// when an input requires gradients, records itself in a graph that Backward
// and Grad walk in reverse.
//
// # Gradients of gradients
//
// Every backward rule (rules.go holds them all, one table over a small set of
// primitive operations) is written with the operations of this package, on
// *Var values, never on raw buffers. When Grad is called with CreateGraph,
// the gradients it returns are themselves recorded, so they can be
// differentiated again, to any order. This is what the WGAN-GP gradient
// penalty needs: it trains a critic on the norm of its own input gradient.
// Convolution's input- and weight-gradients are operations in their own
// right, whose derivatives are again convolutions.
//
// Composite operations (Softplus, Variance, per-sample norms) are built from
// primitives and need no rule of their own.
//
// # Recording
//
// A graph is recorded only while gradients are enabled (see NoGrad) and only
// for operations that have an input requiring gradients. Leaves that require
// gradients are made with Leaf (or SetRequiresGrad); everything else is a
// constant. A first-order Backward or Grad evaluates the rules without
// recording, so the graph is garbage as soon as the caller drops the loss.
//
// # Memory and concurrency
//
// A Var's Value is never modified by this package after creation (Backward
// writes only to Grad fields of leaves). The no-grad switch is process-wide,
// like a global torch.no_grad: do not toggle it from several goroutines that
// also record graphs.
package autograd
