package autograd

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// GradOption changes how Grad works.
type GradOption func(*gradConfig)

type gradConfig struct {
	createGraph bool
	seed        *Var
}

// CreateGraph makes Grad record the gradient computation itself, so the
// returned gradients can be differentiated again (higher-order gradients).
func CreateGraph() GradOption { return func(c *gradConfig) { c.createGraph = true } }

// Seed sets the gradient flowing into the output (PyTorch's grad_outputs):
// Grad then returns the vector-Jacobian product seedᵀ·J. Without it the
// output must be a single element and the seed is 1.
func Seed(g *Var) GradOption { return func(c *gradConfig) { c.seed = g } }

// Grad returns the gradients of y with respect to each of xs, as Vars. An
// input that y does not depend on gets a zero gradient. With CreateGraph the
// results are recorded and can be differentiated again; otherwise they are
// constants and no graph is kept. Leaves' Grad fields are not touched.
//
// It panics if y has more than one element and no Seed is given, if the seed's
// shape differs from y's, if y or an input is nil or an input does not
// require gradients, or if y does not require gradients (it depends on no
// input, or was computed inside NoGrad).
func Grad(y *Var, xs []*Var, opts ...GradOption) []*Var {
	var cfg gradConfig
	for _, o := range opts {
		o(&cfg)
	}
	if y == nil {
		panic("autograd: Grad: output y is nil")
	}
	for i, x := range xs {
		if x == nil {
			panic(fmt.Sprintf("autograd: Grad: input %d of %d is nil; want a Var that requires gradients", i, len(xs)))
		}
		if !x.requiresGrad {
			panic(fmt.Sprintf("autograd: Grad: input %d (%v) does not require gradients", i, x.Value.Shape()))
		}
	}
	mustRequireGrad("Grad", y)
	seed := seedFor("Grad", y, cfg.seed)
	targets := make(map[*Var]bool, len(xs))
	for _, x := range xs {
		targets[x] = true
	}
	grads := backprop(y, seed, func(v *Var) bool { return targets[v] }, cfg.createGraph)
	out := make([]*Var, len(xs))
	for i, x := range xs {
		if g := grads[x]; g != nil {
			out[i] = g
		} else {
			out[i] = Const(tensor.ZerosLike(x.Value))
		}
	}
	return out
}

// Backward computes the gradient of y with respect to every leaf that
// requires gradients and adds it to the leaf's Grad. y must have one
// element. No graph of the gradient computation is recorded.
//
// It panics if y has more than one element, or if y does not require
// gradients (nothing it was computed from does, or it was computed inside
// NoGrad): as in PyTorch, a loss with nothing to differentiate is a mistake
// to report, not a step to skip silently.
func Backward(y *Var) {
	mustRequireGrad("Backward", y)
	seed := seedFor("Backward", y, nil)
	grads := backprop(y, seed, func(v *Var) bool { return v.fn == nil && v.requiresGrad }, false)
	for v, g := range grads {
		if v.fn != nil || !v.requiresGrad {
			continue
		}
		if v.Grad == nil {
			v.Grad = g.Value.Clone()
		} else {
			tensor.AddInto(v.Grad, v.Grad, g.Value)
		}
	}
}

func mustRequireGrad(op string, y *Var) {
	if y == nil {
		panic(fmt.Sprintf("autograd: %s: output y is nil", op))
	}
	if !y.requiresGrad {
		panic(fmt.Sprintf("autograd: %s: output %v does not require gradients: nothing it was computed from does, or it was computed inside NoGrad", op, y.Value.Shape()))
	}
}

func seedFor(op string, y *Var, seed *Var) *Var {
	if seed == nil {
		if y.Value.Len() != 1 {
			panic(fmt.Sprintf("autograd: %s: output of shape %v is not a single element; give a Seed", op, y.Value.Shape()))
		}
		return Const(tensor.Ones(y.Value.Shape()...))
	}
	if !slices.Equal(seed.Value.Shape(), y.Value.Shape()) {
		panic(fmt.Sprintf("autograd: %s: seed shape %v differs from output shape %v", op, seed.Value.Shape(), y.Value.Shape()))
	}
	return seed
}

// backprop propagates seed from y back through the recorded graph and
// returns the accumulated gradient of every Var on a path from y to a Var
// for which want is true. Branches that reach no such Var are skipped.
//
// Without create, the gradients are constants: each rule's results are cut
// from whatever graph the rule's ops recorded, so nothing is retained. This
// does not touch the process-wide NoGrad switch, so a Backward in one
// goroutine never stops another goroutine from recording.
func backprop(y, seed *Var, want func(*Var) bool, create bool) map[*Var]*Var {
	grads := map[*Var]*Var{}
	if !y.requiresGrad {
		return grads
	}
	// needed[v]: some wanted Var is reachable from v (v included).
	needed := map[*Var]bool{}
	var order []*Var // post-order: inputs before the Vars made from them
	var visit func(v *Var) bool
	visit = func(v *Var) bool {
		if n, ok := needed[v]; ok {
			return n
		}
		needed[v] = false // guards against revisits while in progress
		n := want(v)
		if v.fn != nil {
			for _, in := range v.fn.inputs {
				if in.requiresGrad && visit(in) {
					n = true
				}
			}
		}
		needed[v] = n
		order = append(order, v)
		return n
	}
	if !visit(y) {
		return grads
	}
	grads[y] = seed
	need := make([]bool, 0, 4)
	for i := len(order) - 1; i >= 0; i-- {
		v := order[i]
		g := grads[v]
		if g == nil || v.fn == nil || !needed[v] {
			continue
		}
		need = need[:0]
		anyNeed := false
		for _, in := range v.fn.inputs {
			nd := in.requiresGrad && needed[in]
			need = append(need, nd)
			anyNeed = anyNeed || nd
		}
		if !anyNeed {
			continue
		}
		gs := v.fn.prim.backward(v.fn, g, need, create)
		for k, in := range v.fn.inputs {
			if !need[k] || gs[k] == nil {
				continue
			}
			gk := gs[k]
			if !slices.Equal(gk.Value.Shape(), in.Value.Shape()) {
				// The one place where broadcasting is undone.
				if !broadcastsTo(in.Value.Shape(), gk.Value.Shape()) {
					panic(fmt.Sprintf("autograd: rule for %v gave gradient of shape %v for input %d of shape %v", v.fn.prim.op(), gk.Value.Shape(), k, in.Value.Shape()))
				}
				gk = SumTo(gk, in.Value.Shape()...)
			}
			if !create && gk.fn != nil {
				gk = Const(gk.Value)
			}
			if prev := grads[in]; prev != nil {
				grads[in] = Add(prev, gk)
			} else {
				grads[in] = gk
			}
		}
		if !want(v) {
			delete(grads, v) // free intermediate gradients as we go
		}
	}
	return grads
}

// broadcastsTo reports whether shape from broadcasts to shape to.
func broadcastsTo(from, to []int) bool {
	if len(from) > len(to) {
		return false
	}
	off := len(to) - len(from)
	for i, d := range from {
		if d != 1 && d != to[off+i] {
			return false
		}
	}
	return true
}
