package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gantry-go/gantry/tensor"
)

// CheckOptions sets the finite-difference step and the tolerances of
// GradCheck and GradGradCheck. Zero fields take the defaults.
type CheckOptions struct {
	// Eps is the central-difference step (default 1e-2: float32 values
	// need a step this large for the difference to rise above rounding).
	Eps float64
	// Atol and Rtol accept an analytic gradient a against the numeric n when
	// |a-n| <= Atol + Rtol*|n| (defaults 1e-3 and 1e-2).
	Atol, Rtol float64
	// Seed seeds the random projections (default 1).
	Seed uint64
}

func (o *CheckOptions) defaults() CheckOptions {
	c := CheckOptions{Eps: 1e-2, Atol: 1e-3, Rtol: 1e-2, Seed: 1}
	if o != nil {
		if o.Eps != 0 {
			c.Eps = o.Eps
		}
		if o.Atol != 0 {
			c.Atol = o.Atol
		}
		if o.Rtol != 0 {
			c.Rtol = o.Rtol
		}
		if o.Seed != 0 {
			c.Seed = o.Seed
		}
	}
	return c
}

// GradCheck compares the gradients that autograd computes for f with
// central finite differences. f maps Vars holding copies of inputs to an
// output of any shape; the output is projected onto a fixed random tensor r,
// L = Σ r·f(x) (summed in float64), and dL/dx from Grad is compared with
// (L(x+eps) - L(x-eps)) / 2eps for every element of every input.
//
// It returns nil when every element agrees within the tolerances, and
// otherwise an error naming the worst input element with both values.
// f must be deterministic and must not keep the Vars it is given.
func GradCheck(f func(xs []*Var) *Var, inputs []*tensor.Tensor, opts *CheckOptions) error {
	o := opts.defaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	xs := make([]*Var, len(inputs))
	for i, t := range inputs {
		xs[i] = Leaf(t.Clone())
	}
	if !GradEnabled() {
		panic("autograd: GradCheck: called inside NoGrad")
	}
	y := f(xs)
	r := tensor.RandN(rng, y.Value.Shape()...)
	if !y.requiresGrad {
		return fmt.Errorf("autograd: GradCheck: output does not depend on any input (op %q)", y.Op())
	}
	analytic := Grad(y, xs, Seed(Const(r)))
	loss := func() float64 {
		v := f(xs).Value.Data()
		s := 0.0
		for i, rv := range r.Data() {
			s += float64(rv) * float64(v[i])
		}
		return s
	}
	worst, worstMsg := 0.0, ""
	for i, x := range xs {
		d := x.Value.Data()
		a := analytic[i].Value.Data()
		for j := range d {
			orig := d[j]
			d[j] = orig + float32(o.Eps)
			hi := float64(d[j])
			lp := loss()
			d[j] = orig - float32(o.Eps)
			lo := float64(d[j])
			lm := loss()
			d[j] = orig
			num := (lp - lm) / (hi - lo)
			diff := math.Abs(float64(a[j]) - num)
			tol := o.Atol + o.Rtol*math.Abs(num)
			if !(diff <= tol) { // NaN fails too
				if excess := diff / tol; excess > worst || math.IsNaN(diff) {
					worst = excess
					worstMsg = fmt.Sprintf("input %d %v element %d: analytic %.6g, numeric %.6g (|diff| %.3g > tol %.3g)",
						i, x.Value.Shape(), j, a[j], num, diff, tol)
				}
			}
		}
	}
	if worstMsg != "" {
		return fmt.Errorf("autograd: GradCheck: %s", worstMsg)
	}
	return nil
}

// GradGradCheck checks second-order gradients of f: it applies GradCheck to
// the function that computes, with CreateGraph, the vector-Jacobian product
// of f with a random output gradient v (itself an input of the check) and
// projects those gradients onto fixed random tensors. It verifies that every
// backward rule f uses is itself correctly differentiable.
func GradGradCheck(f func(xs []*Var) *Var, inputs []*tensor.Tensor, opts *CheckOptions) error {
	o := opts.defaults()
	rng := rand.New(rand.NewPCG(o.Seed+1, 0x2545f4914f6cdd1d))
	var outShape []int
	func() {
		xs := make([]*Var, len(inputs))
		for i, t := range inputs {
			xs[i] = Leaf(t.Clone())
		}
		outShape = f(xs).Value.Shape()
	}()
	v := tensor.RandN(rng, outShape...)
	proj := make([]*tensor.Tensor, len(inputs))
	for i, t := range inputs {
		proj[i] = tensor.RandN(rng, t.Shape()...)
	}
	h := func(args []*Var) *Var {
		xs, gv := args[:len(args)-1], args[len(args)-1]
		y := f(xs)
		gs := Grad(Sum(Mul(y, gv), false), xs, CreateGraph())
		var total *Var
		for i, g := range gs {
			term := Sum(Mul(g, Const(proj[i])), false)
			if total == nil {
				total = term
			} else {
				total = Add(total, term)
			}
		}
		return total
	}
	args := append(append([]*tensor.Tensor{}, inputs...), v)
	if err := GradCheck(h, args, &o); err != nil {
		return fmt.Errorf("autograd: GradGradCheck: %w", err)
	}
	return nil
}
