package autograd

import (
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// rule returns the gradients of a node's inputs given the gradient g of its
// output. need[i] says whether input i wants one; a rule may return nil for
// inputs that do not. Every rule is written with the differentiable
// operations of this package, so the gradients it builds can be
// differentiated again. create is false when the caller will use only the
// values (a first-order Backward or Grad): a rule may then compute the same
// values with a fused kernel instead.
type rule func(n *node, g *Var, need []bool, create bool) []*Var

// rules is the table of backward rules, one per primitive operation.
var rules map[string]rule

func init() {
	rules = map[string]rule{
		"add": func(n *node, g *Var, need []bool, create bool) []*Var {
			a, b := n.inputs[0], n.inputs[1]
			return []*Var{sumToIf(need[0], g, a), sumToIf(need[1], g, b)}
		},
		"sub": func(n *node, g *Var, need []bool, create bool) []*Var {
			a, b := n.inputs[0], n.inputs[1]
			var gb *Var
			if need[1] {
				gb = SumTo(Neg(g), b.Value.Shape()...)
			}
			return []*Var{sumToIf(need[0], g, a), gb}
		},
		"mul": func(n *node, g *Var, need []bool, create bool) []*Var {
			a, b := n.inputs[0], n.inputs[1]
			var ga, gb *Var
			if need[0] {
				ga = mulSumTo(g, b, a, create)
			}
			if need[1] {
				gb = mulSumTo(g, a, b, create)
			}
			return []*Var{ga, gb}
		},
		"muladd": func(n *node, g *Var, need []bool, create bool) []*Var {
			a, w, b := n.inputs[0], n.inputs[1], n.inputs[2]
			var ga, gw, gb *Var
			if need[0] {
				ga = mulSumTo(g, w, a, create)
			}
			if need[1] {
				gw = mulSumTo(g, a, w, create)
			}
			if need[2] {
				gb = SumTo(g, b.Value.Shape()...)
			}
			return []*Var{ga, gw, gb}
		},
		"div": func(n *node, g *Var, need []bool, create bool) []*Var {
			a, b := n.inputs[0], n.inputs[1]
			var ga, gb *Var
			if need[0] {
				ga = SumTo(Div(g, b), a.Value.Shape()...)
			}
			if need[1] { // d(a/b)/db = -(a/b)/b
				gb = SumTo(Neg(Div(Mul(g, n.out), b)), b.Value.Shape()...)
			}
			return []*Var{ga, gb}
		},
		"neg": func(n *node, g *Var, need []bool, create bool) []*Var { return []*Var{Neg(g)} },
		"scale": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{Scale(g, n.attrs.(float32))}
		},
		"addscalar": func(n *node, g *Var, need []bool, create bool) []*Var { return []*Var{g} },
		"square": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{Mul(g, Scale(n.inputs[0], 2))}
		},
		"exp": func(n *node, g *Var, need []bool, create bool) []*Var { return []*Var{Mul(g, n.out)} },
		"log": func(n *node, g *Var, need []bool, create bool) []*Var { return []*Var{Div(g, n.inputs[0])} },
		"sqrt": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{Div(g, Scale(n.out, 2))}
		},
		"rsqrt": func(n *node, g *Var, need []bool, create bool) []*Var { // d(x^-1/2) = -1/2 y^3
			return []*Var{Mul(g, Scale(Pow(n.out, 3), -0.5))}
		},
		"pow": func(n *node, g *Var, need []bool, create bool) []*Var {
			p := n.attrs.(float32)
			return []*Var{Mul(g, Scale(Pow(n.inputs[0], p-1), p))}
		},
		"abs": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{Mul(g, Const(tensor.Sign(n.inputs[0].Value)))}
		},
		"tanh": func(n *node, g *Var, need []bool, create bool) []*Var { // 1 - y^2
			return []*Var{Mul(g, AddScalar(Neg(Square(n.out)), 1))}
		},
		"sigmoid": func(n *node, g *Var, need []bool, create bool) []*Var { // y (1 - y)
			y := n.out
			return []*Var{Mul(g, Mul(y, AddScalar(Neg(y), 1)))}
		},
		"relu": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{maskBySign(g, n.inputs[0], 0)}
		},
		"leakyrelu": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{maskBySign(g, n.inputs[0], n.attrs.(float32))}
		},
		"masksign": func(n *node, g *Var, need []bool, create bool) []*Var {
			// Linear in g; the mask is piecewise constant in x, so x gets
			// no gradient.
			return []*Var{maskBySign(g, n.inputs[1], n.attrs.(float32)), nil}
		},
		"standardize": func(n *node, g *Var, need []bool, create bool) []*Var {
			// With x̂ = (x-μ)/σ over the reduced axes:
			// dx = (g - mean(g) - x̂·mean(g·x̂)) / σ.
			// σ is rebuilt from x and x̂ is the op's output, so both stay
			// in the graph for higher orders.
			a := n.attrs.(standardizeAttrs)
			x, xhat := n.inputs[0], n.out
			if !create { // first order: the same value, fused
				return []*Var{Const(tensor.StandardizeGrad(g.Value, xhat.Value, a.variance, a.eps, a.axes...))}
			}
			inv := Rsqrt(AddScalar(Variance(x, true, a.axes...), a.eps))
			c := Sub(Sub(g, Mean(g, true, a.axes...)), Mul(xhat, Mean(Mul(g, xhat), true, a.axes...)))
			return []*Var{Mul(c, inv)}
		},
		"sum": func(n *node, g *Var, need []bool, create bool) []*Var {
			x := n.inputs[0]
			return []*Var{unreduce(g, x, n.attrs.(reduceAttrs))}
		},
		"mean": func(n *node, g *Var, need []bool, create bool) []*Var {
			x := n.inputs[0]
			k := float32(x.Value.Len()) / float32(max(1, n.out.Value.Len()))
			return []*Var{Scale(unreduce(g, x, n.attrs.(reduceAttrs)), 1/k)}
		},
		"max": func(n *node, g *Var, need []bool, create bool) []*Var {
			x := n.inputs[0]
			a := n.attrs.(reduceAttrs)
			// Share the gradient among the maxima: mask / count.
			m := n.out.Value
			if !a.keep {
				m = m.Reshape(keptShape(x.Value, a.axes)...)
			}
			mask := tensor.Eq(x.Value, m)
			cnt := tensor.Sum(mask, true, a.axes...)
			return []*Var{Mul(unreduce(g, x, a), Const(tensor.Div(mask, cnt)))}
		},
		"reshape": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{Reshape(g, n.inputs[0].Value.Shape()...)}
		},
		"permute": func(n *node, g *Var, need []bool, create bool) []*Var {
			perm := n.attrs.([]int)
			inv := make([]int, len(perm))
			for i, p := range perm {
				inv[p] = i
			}
			return []*Var{Permute(g, inv...)}
		},
		"broadcast": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{SumTo(g, n.inputs[0].Value.Shape()...)}
		},
		"sumto": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{BroadcastTo(g, n.inputs[0].Value.Shape()...)}
		},
		"slice": func(n *node, g *Var, need []bool, create bool) []*Var {
			a := n.attrs.(sliceAttrs)
			x := n.inputs[0].Value
			pads := make([][2]int, x.Dims())
			pads[a.axis] = [2]int{a.start, x.Dim(a.axis) - a.end}
			return []*Var{Pad(g, 0, pads...)}
		},
		"pad": func(n *node, g *Var, need []bool, create bool) []*Var {
			pads := n.attrs.([][2]int)
			out := g
			for ax, p := range pads {
				if p != [2]int{} {
					out = Slice(out, ax, p[0], g.Value.Dim(ax)-p[1])
				}
			}
			return []*Var{out}
		},
		"concat": func(n *node, g *Var, need []bool, create bool) []*Var {
			axis := n.attrs.(int)
			out := make([]*Var, len(n.inputs))
			start := 0
			for i, in := range n.inputs {
				d := in.Value.Dim(axis)
				if need[i] {
					out[i] = Slice(g, axis, start, start+d)
				}
				start += d
			}
			return out
		},
		"indexselect": func(n *node, g *Var, need []bool, create bool) []*Var {
			a := n.attrs.(indexAttrs)
			return []*Var{IndexAdd(g, a.axis, a.idx, a.n)}
		},
		"indexadd": func(n *node, g *Var, need []bool, create bool) []*Var {
			a := n.attrs.(indexAttrs)
			return []*Var{IndexSelect(g, a.axis, a.idx)}
		},
		"where": func(n *node, g *Var, need []bool, create bool) []*Var {
			cond := n.attrs.(*tensor.Tensor)
			a, b := n.inputs[0], n.inputs[1]
			mask := tensor.Apply(cond, func(v float32) float32 { return b2f(v != 0) })
			var ga, gb *Var
			if need[0] {
				ga = SumTo(Mul(g, Const(mask)), a.Value.Shape()...)
			}
			if need[1] {
				gb = SumTo(Mul(g, Const(tensor.AddScalar(tensor.Neg(mask), 1))), b.Value.Shape()...)
			}
			return []*Var{ga, gb}
		},
		"matmul": func(n *node, g *Var, need []bool, create bool) []*Var {
			t := n.attrs.(matmulAttrs)
			a, b := n.inputs[0], n.inputs[1]
			var ga, gb *Var
			// C = op(A) op(B); dop(A) = G op(B)ᵀ, dop(B) = op(A)ᵀ G.
			if need[0] {
				if !t.ta {
					ga = MatMulT(g, b, false, !t.tb)
				} else {
					ga = MatMulT(b, g, t.tb, true)
				}
				ga = SumTo(ga, a.Value.Shape()...)
			}
			if need[1] {
				if !t.tb {
					gb = MatMulT(a, g, !t.ta, false)
				} else {
					gb = MatMulT(g, a, true, t.ta)
				}
				gb = SumTo(gb, b.Value.Shape()...)
			}
			return []*Var{ga, gb}
		},
		"conv2d": func(n *node, g *Var, need []bool, create bool) []*Var {
			p := n.attrs.(tensor.ConvParams)
			x, w := n.inputs[0], n.inputs[1]
			var gx, gw *Var
			if need[0] {
				gx = Conv2dInputGrad(g, w, x.Value.Dim(2), x.Value.Dim(3), p)
			}
			if need[1] {
				gw = Conv2dWeightGrad(x, g, w.Value.Dim(2), w.Value.Dim(3), p)
			}
			if len(need) == 3 { // Conv2dBias
				var gb *Var
				if need[2] {
					gb = Sum(g, false, 0, 2, 3)
				}
				return []*Var{gx, gw, gb}
			}
			return []*Var{gx, gw}
		},
		"conv2d_dx": func(n *node, g *Var, need []bool, create bool) []*Var {
			// out = T(gy, w), linear in each: d/dgy = conv(G, w), d/dw = dW(G, gy).
			a := n.attrs.(convGradAttrs)
			gy, w := n.inputs[0], n.inputs[1]
			var ggy, gw *Var
			if need[0] {
				ggy = Conv2d(g, w, a.p)
			}
			if need[1] {
				gw = Conv2dWeightGrad(g, gy, w.Value.Dim(2), w.Value.Dim(3), a.p)
			}
			return []*Var{ggy, gw}
		},
		"conv2d_dw": func(n *node, g *Var, need []bool, create bool) []*Var {
			// out = dW(x, gy): d/dx = T(gy, G), d/dgy = conv(x, G).
			a := n.attrs.(convGradAttrs)
			x, gy := n.inputs[0], n.inputs[1]
			var gx, ggy *Var
			if need[0] {
				gx = Conv2dInputGrad(gy, g, x.Value.Dim(2), x.Value.Dim(3), a.p)
			}
			if need[1] {
				ggy = Conv2d(x, g, a.p)
			}
			return []*Var{gx, ggy}
		},
		"upsample": func(n *node, g *Var, need []bool, create bool) []*Var {
			s := n.attrs.(int)
			return []*Var{Scale(AvgPool2d(g, s), float32(s*s))}
		},
		"avgpool": func(n *node, g *Var, need []bool, create bool) []*Var {
			k := n.attrs.(int)
			x := n.inputs[0].Value
			// Scaled before it is spread: the same numbers, on a
			// k*k times smaller tensor.
			up := UpsampleNearest(Scale(g, 1/float32(k*k)), k)
			dh, dw := x.Dim(2)-up.Value.Dim(2), x.Dim(3)-up.Value.Dim(3)
			if dh != 0 || dw != 0 {
				up = Pad(up, 0, [2]int{}, [2]int{}, [2]int{0, dh}, [2]int{0, dw})
			}
			return []*Var{up}
		},
		"avgpoolp": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{avgPool2dWithGrad(g, n.attrs.(poolAttrs))}
		},
		"avgpoolp_grad": func(n *node, g *Var, need []bool, create bool) []*Var {
			return []*Var{AvgPool2dWith(g, n.attrs.(poolAttrs).p)}
		},
		"maxpool": func(n *node, g *Var, need []bool, create bool) []*Var {
			a := n.attrs.(planeAttrs)
			return []*Var{planeScatter(g, a.idx, a.h, a.w)}
		},
		"planescatter": func(n *node, g *Var, need []bool, create bool) []*Var {
			a := n.attrs.(planeAttrs) // h, w: the source's plane size
			return []*Var{planeGather(g, a.idx, a.h, a.w)}
		},
		"planegather": func(n *node, g *Var, need []bool, create bool) []*Var {
			a := n.attrs.(planeAttrs)
			return []*Var{planeScatter(g, a.idx, a.h, a.w)}
		},
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// mulSumTo is the gradient g·other of a product, summed down to the shape
// of the input x it flows to. Without create, a broadcast x takes the fused
// kernel that never forms the product.
func mulSumTo(g, other, x *Var, create bool) *Var {
	shape := x.Value.Shape()
	if !create && other.Value.SameShape(g.Value) && !x.Value.SameShape(g.Value) {
		return Const(tensor.MulSumTo(g.Value, other.Value, shape...))
	}
	return SumTo(Mul(g, other), shape...)
}

func sumToIf(need bool, g, x *Var) *Var {
	if !need {
		return nil
	}
	return SumTo(g, x.Value.Shape()...)
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
func unreduce(g, x *Var, a reduceAttrs) *Var {
	if !a.keep {
		g = Reshape(g, keptShape(x.Value, a.axes)...)
	}
	return BroadcastTo(g, x.Value.Shape()...)
}
