package autograd

import (
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// The backward rules, one method per primitive of ops.go (see primitive).
// Gradients of broadcasting ops are returned in the output's shape and
// summed down to each input's shape by backprop.

func (addOp) backward(n *node, g *Var, need []bool, create bool) []*Var { return []*Var{g, g} }

func (subOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	var gb *Var
	if need[1] {
		gb = Scale(g, -1)
	}
	return []*Var{g, gb}
}

func (mulOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	a, b := n.inputs[0], n.inputs[1]
	return []*Var{mulGrad(need[0], g, b, a, create), mulGrad(need[1], g, a, b, create)}
}

func (mulAddOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	a, w := n.inputs[0], n.inputs[1]
	return []*Var{mulGrad(need[0], g, w, a, create), mulGrad(need[1], g, a, w, create), g}
}

func (divOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	b := n.inputs[1]
	var ga, gb *Var
	if need[0] {
		ga = Div(g, b)
	}
	if need[1] { // d(a/b)/db = -(a/b)/b
		gb = Scale(Div(Mul(g, n.out), b), -1)
	}
	return []*Var{ga, gb}
}

func (o scaleOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Scale(g, o.s)}
}

func (addScalarOp) backward(n *node, g *Var, need []bool, create bool) []*Var { return []*Var{g} }

func (expOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Mul(g, n.out)}
}

func (logOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Div(g, n.inputs[0])}
}

func (sqrtOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Div(g, Scale(n.out, 2))}
}

func (o powOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	x := n.inputs[0]
	switch o.p {
	case 2: // Square: one power fewer
		return []*Var{Mul(g, Scale(x, 2))}
	case -0.5: // Rsqrt: -y³/2, an integer power of the output
		return []*Var{Mul(g, Scale(Pow(n.out, 3), -0.5))}
	}
	return []*Var{Mul(g, Scale(Pow(x, o.p-1), o.p))}
}

func (tanhOp) backward(n *node, g *Var, need []bool, create bool) []*Var { // 1 - y²
	return []*Var{Mul(g, AddScalar(Scale(Square(n.out), -1), 1))}
}

func (sigmoidOp) backward(n *node, g *Var, need []bool, create bool) []*Var { // y (1 - y)
	y := n.out
	return []*Var{Mul(g, Mul(y, AddScalar(Scale(y, -1), 1)))}
}

func (reluOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{leakyReLUGrad(g, n.inputs[0], 0)}
}

func (o leakyReLUOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{leakyReLUGrad(g, n.inputs[0], o.slope)}
}

func (o leakyReLUGradOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	// Linear in g; the mask is piecewise constant in x, so x gets no
	// gradient.
	return []*Var{leakyReLUGrad(g, n.inputs[1], o.slope), nil}
}

func (o standardizeOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	// With x̂ = (x-μ)/σ over the reduced axes:
	// dx = (g - mean(g) - x̂·mean(g·x̂)) / σ.
	// σ is rebuilt from x and x̂ is the op's output, so both stay in the
	// graph for higher orders.
	x, xhat := n.inputs[0], n.out
	if !create { // first order: the same value, fused
		return []*Var{Const(tensor.StandardizeGrad(g.Value, xhat.Value, o.variance, o.eps, o.axes...))}
	}
	inv := Rsqrt(AddScalar(Variance(x, true, o.axes...), o.eps))
	c := Sub(Sub(g, Mean(g, true, o.axes...)), Mul(xhat, Mean(Mul(g, xhat), true, o.axes...)))
	return []*Var{Mul(c, inv)}
}

func (o sumOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{o.unreduce(g, n.inputs[0])}
}

func (o meanOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	x := n.inputs[0]
	k := float32(x.Value.Len()) / float32(max(1, n.out.Value.Len()))
	return []*Var{Scale(o.unreduce(g, x), 1/k)}
}

func (o maxOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	x := n.inputs[0]
	// Share the gradient among the maxima: mask / count.
	m := n.out.Value
	if !o.keep {
		m = m.Reshape(keptShape(x.Value, o.axes)...)
	}
	mask := tensor.Eq(x.Value, m)
	cnt := tensor.Sum(mask, true, o.axes...)
	return []*Var{Mul(o.unreduce(g, x), Const(tensor.Div(mask, cnt)))}
}

func (reshapeOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Reshape(g, n.inputs[0].Value.Shape()...)}
}

func (o permuteOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	inv := make([]int, len(o.perm))
	for i, p := range o.perm {
		inv[p] = i
	}
	return []*Var{Permute(g, inv...)}
}

func (broadcastToOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{g} // summed to the input's shape by backprop
}

func (sumToOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{BroadcastTo(g, n.inputs[0].Value.Shape()...)}
}

func (o sliceOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	x := n.inputs[0].Value
	pads := make([][2]int, x.Dims())
	pads[o.axis] = [2]int{o.start, x.Dim(o.axis) - o.end}
	return []*Var{Pad(g, 0, pads...)}
}

func (o padOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	out := g
	for ax, p := range o.pads {
		if p != [2]int{} {
			out = Slice(out, ax, p[0], g.Value.Dim(ax)-p[1])
		}
	}
	return []*Var{out}
}

func (o concatOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	out := make([]*Var, len(n.inputs))
	start := 0
	for i, in := range n.inputs {
		d := in.Value.Dim(o.axis)
		if need[i] {
			out[i] = Slice(g, o.axis, start, start+d)
		}
		start += d
	}
	return out
}

func (o indexSelectOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{IndexAdd(g, o.axis, o.idx, o.n)}
}

func (o indexAddOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{IndexSelect(g, o.axis, o.idx)}
}

func (o whereOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	mask := tensor.Apply(o.cond, func(v float32) float32 { return b2f(v != 0) })
	var ga, gb *Var
	if need[0] {
		ga = Mul(g, Const(mask))
	}
	if need[1] {
		gb = Mul(g, Const(tensor.AddScalar(tensor.Neg(mask), 1)))
	}
	return []*Var{ga, gb}
}

func (o matMulOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	a, b := n.inputs[0], n.inputs[1]
	var ga, gb *Var
	// C = op(A) op(B); dop(A) = G op(B)ᵀ, dop(B) = op(A)ᵀ G. Batch axes
	// that broadcast are summed by backprop.
	if need[0] {
		if !o.transA {
			ga = MatMulT(g, b, false, !o.transB)
		} else {
			ga = MatMulT(b, g, o.transB, true)
		}
	}
	if need[1] {
		if !o.transB {
			gb = MatMulT(a, g, !o.transA, false)
		} else {
			gb = MatMulT(g, a, true, o.transA)
		}
	}
	return []*Var{ga, gb}
}

func (o conv2dOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	x, w := n.inputs[0], n.inputs[1]
	gs := make([]*Var, len(n.inputs))
	if need[0] {
		gs[0] = Conv2dInputGrad(g, w, x.Value.Dim(2), x.Value.Dim(3), o.p)
	}
	if need[1] {
		gs[1] = Conv2dWeightGrad(x, g, w.Value.Dim(2), w.Value.Dim(3), o.p)
	}
	if len(need) == 3 && need[2] { // Conv2dBias
		gs[2] = Sum(g, false, 0, 2, 3)
	}
	return gs
}

func (o conv2dInputGradOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	// out = T(gy, w), linear in each: d/dgy = conv(G, w), d/dw = dW(G, gy).
	gy, w := n.inputs[0], n.inputs[1]
	var ggy, gw *Var
	if need[0] {
		ggy = Conv2d(g, w, o.p)
	}
	if need[1] {
		gw = Conv2dWeightGrad(g, gy, w.Value.Dim(2), w.Value.Dim(3), o.p)
	}
	return []*Var{ggy, gw}
}

func (o conv2dWeightGradOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	// out = dW(x, gy): d/dx = T(gy, G), d/dgy = conv(x, G).
	x, gy := n.inputs[0], n.inputs[1]
	var gx, ggy *Var
	if need[0] {
		gx = Conv2dInputGrad(gy, g, x.Value.Dim(2), x.Value.Dim(3), o.p)
	}
	if need[1] {
		ggy = Conv2d(x, g, o.p)
	}
	return []*Var{gx, ggy}
}

func (o upsampleNearestOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Scale(AvgPool2d(g, tensor.Window(o.s)), float32(o.s*o.s))}
}

func (o avgPool2dOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{avgPool2dGrad(g, o.pooling)}
}

func (o avgPool2dGradOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{AvgPool2d(g, o.p)}
}

func (o maxPool2dOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{scatterAddPlanes(g, o.idx, o.h, o.w)}
}

func (o scatterAddPlanesOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{gatherPlanes(g, o.idx, o.h, o.w)} // h, w: the source's plane size
}

func (o gatherPlanesOp) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{scatterAddPlanes(g, o.idx, o.h, o.w)}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// mulGrad is the gradient g·other of a product flowing to its input x, or
// nil when x needs none. Without create, a broadcast x takes the fused
// kernel that sums the product down to x's shape without forming it.
func mulGrad(need bool, g, other, x *Var, create bool) *Var {
	switch {
	case !need:
		return nil
	case !create && other.Value.SameShape(g.Value) && !x.Value.SameShape(g.Value):
		return Const(tensor.MulSumTo(g.Value, other.Value, x.Value.Shape()...))
	}
	return Mul(g, other)
}

// keptShape is x's shape with the reduced axes set to 1.
func keptShape(x *tensor.Tensor, axes []int) []int {
	s := slices.Clone(x.Shape())
	if len(axes) == 0 {
		for i := range s {
			s[i] = 1
		}
		return s
	}
	for _, a := range axes {
		if a < 0 {
			a += len(s)
		}
		s[a] = 1
	}
	return s
}

// unreduce broadcasts the gradient of a reduction back to the input's shape.
func (r reduction) unreduce(g, x *Var) *Var {
	if !r.keep {
		g = Reshape(g, keptShape(x.Value, r.axes)...)
	}
	return BroadcastTo(g, x.Value.Shape()...)
}
