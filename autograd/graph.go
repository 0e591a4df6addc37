package autograd

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/internal/bufpool"
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
	var rel *releaser
	if !create {
		rel = newReleaser(order, seed)
		rel.hold(seed.Value)
	}
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
				rel.consumed(gk.Value)
				gk = SumTo(gk, in.Value.Shape()...)
			}
			if !create && gk.fn != nil {
				gk = Const(gk.Value)
			}
			if prev := grads[in]; prev != nil {
				sum := Add(prev, gk)
				grads[in] = sum
				rel.hold(sum.Value)
				rel.unhold(prev.Value)
				rel.consumed(gk.Value)
			} else {
				grads[in] = gk
				rel.hold(gk.Value)
			}
		}
		if !want(v) {
			delete(grads, v) // free intermediate gradients as we go
			rel.unhold(g.Value)
		}
		rel.flush()
	}
	return grads
}

// releaser gives gradient buffers back to the tensor memory pool during a
// backward pass that records no graph, as soon as nothing can read them.
//
// A buffer is released only if backprop owns it: it first appeared as the
// result of a rule (or of summing two gradients), and it is not the storage
// of any value in the graph, of an input to any recorded operation, or of the
// seed. Storage is identified by its first element, which Reshape views
// share; a live count of the gradient entries holding each storage keeps a
// buffer that a rule passed through to several inputs until the last of them
// is consumed. Candidates are only released by flush, after the node that
// consumed them is done, and each storage at most once. Nothing that reaches
// the caller (wanted gradients) is ever released.
//
// A nil *releaser does nothing, which is what backprop uses when it records
// the gradient graph.
type releaser struct {
	owned   map[*float32]bool // decided on first sight; false when protected
	live    map[*float32]int
	pending []*tensor.Tensor // consumed this node; released by flush if dead
}

func newReleaser(order []*Var, seed *Var) *releaser {
	r := &releaser{owned: map[*float32]bool{}, live: map[*float32]int{}}
	protect := func(t *tensor.Tensor) {
		if p := storage(t); p != nil {
			r.owned[p] = false
		}
	}
	for _, v := range order {
		protect(v.Value)
		if v.fn != nil {
			for _, in := range v.fn.inputs {
				protect(in.Value)
			}
		}
	}
	protect(seed.Value)
	return r
}

// storage returns the address of t's first element, or nil for an empty
// tensor.
func storage(t *tensor.Tensor) *float32 {
	d := t.Data()
	if len(d) == 0 {
		return nil
	}
	return &d[0]
}

// see records p's ownership the first time it appears.
func (r *releaser) see(p *float32) {
	if _, ok := r.owned[p]; !ok {
		r.owned[p] = true
	}
}

// hold counts one more gradient entry holding t's storage.
func (r *releaser) hold(t *tensor.Tensor) {
	if r == nil {
		return
	}
	if p := storage(t); p != nil {
		r.see(p)
		r.live[p]++
	}
}

// unhold counts one gradient entry fewer holding t's storage and makes it a
// candidate for release.
func (r *releaser) unhold(t *tensor.Tensor) {
	if r == nil {
		return
	}
	if p := storage(t); p != nil {
		r.live[p]--
		r.pending = append(r.pending, t)
	}
}

// consumed makes t, a temporary the node has finished with, a candidate for
// release.
func (r *releaser) consumed(t *tensor.Tensor) {
	if r == nil {
		return
	}
	if p := storage(t); p != nil {
		r.see(p)
		r.pending = append(r.pending, t)
	}
}

// flush releases every candidate that backprop owns and no gradient entry
// holds. A released storage is forgotten, so that the pool handing the same
// memory to a later result makes it a new, owned buffer.
func (r *releaser) flush() {
	if r == nil {
		return
	}
	for _, t := range r.pending {
		p := storage(t)
		if own, ok := r.owned[p]; ok && own && r.live[p] <= 0 {
			delete(r.owned, p)
			delete(r.live, p)
			bufpool.Put(t.Data())
		}
	}
	clear(r.pending)
	r.pending = r.pending[:0]
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

// Free gives the memory of the values computed on the way to y back for reuse
// by later tensors: after Backward(loss), Free(loss) lets the next step's
// forward pass take the activations of this one instead of new, zeroed
// memory (PyTorch frees a graph's buffers after backward in the same spirit).
// Leaves and constants (parameters, data, anything made outside the graph)
// and every value sharing their storage are kept.
//
// After Free, y and every Var recorded on the way to y must not be read
// again, and y cannot be differentiated again: their values may already hold
// another tensor's numbers. Call it only when nothing computed in the step is
// still in use.
func Free(y *Var) {
	if y == nil || y.fn == nil {
		return
	}
	keep := map[*float32]bool{}
	var nodes []*Var
	seen := map[*Var]bool{}
	var visit func(v *Var)
	visit = func(v *Var) {
		if seen[v] {
			return
		}
		seen[v] = true
		if v.fn == nil {
			if p := storage(v.Value); p != nil {
				keep[p] = true
			}
			return
		}
		nodes = append(nodes, v)
		for _, in := range v.fn.inputs {
			visit(in)
		}
	}
	visit(y)
	for _, v := range nodes {
		p := storage(v.Value)
		if p == nil || keep[p] {
			continue
		}
		keep[p] = true // each storage once
		bufpool.Put(v.Value.Data())
	}
}
