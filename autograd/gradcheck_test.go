package autograd

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// input describes one random input of a checked op.
type input struct {
	shape  []int
	lo, hi float32 // uniform range; away from kinks where an op has one
}

func u(lo, hi float32, shape ...int) input { return input{shape, lo, hi} }
func n1(shape ...int) input                { return input{shape, -1, 1} }

// awayFromZero returns values in ±[0.2, 1], for ops with a kink at 0.
func awayFromZero(t *tensor.Tensor) *tensor.Tensor {
	return tensor.Apply(t, func(v float32) float32 {
		if v < 0 {
			return v - 0.2
		}
		return v + 0.2
	})
}

type opCase struct {
	name     string
	inputs   []input
	f        func(xs []*Var) *Var
	kink     bool // inputs must stay away from 0
	distinct bool // inputs are well-separated distinct values (max ties)
}

var conv = tensor.ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 2}, Dilation: [2]int{1, 2}}

func opCases() []opCase {
	return []opCase{
		{name: "Add", inputs: []input{n1(2, 3, 4), n1(3, 1)}, f: func(x []*Var) *Var { return Add(x[0], x[1]) }},
		{name: "Add/scalar", inputs: []input{n1(2, 3), n1()}, f: func(x []*Var) *Var { return Add(x[0], x[1]) }},
		{name: "Sub", inputs: []input{n1(4, 1), n1(1, 5)}, f: func(x []*Var) *Var { return Sub(x[0], x[1]) }},
		{name: "Mul", inputs: []input{n1(2, 3, 4), n1(3, 1)}, f: func(x []*Var) *Var { return Mul(x[0], x[1]) }},
		{name: "Mul/self", inputs: []input{n1(5)}, f: func(x []*Var) *Var { return Mul(x[0], x[0]) }},
		{name: "MulAdd", inputs: []input{n1(2, 3, 2, 2), n1(1, 3, 1, 1), n1(1, 3, 1, 1)}, f: func(x []*Var) *Var {
			return Square(MulAdd(x[0], x[1], x[2]))
		}},
		{name: "MulAdd/per-sample", inputs: []input{n1(2, 3, 2, 2), n1(2, 3, 1, 1), n1(3, 1, 1)}, f: func(x []*Var) *Var {
			return Square(MulAdd(x[0], x[1], x[2]))
		}},
		{name: "Mul/channel", inputs: []input{n1(2, 3, 2, 2), n1(1, 3, 1, 1)}, f: func(x []*Var) *Var { return Square(Mul(x[0], x[1])) }},
		{name: "Div", inputs: []input{n1(2, 3), u(0.5, 2, 2, 1)}, f: func(x []*Var) *Var { return Div(x[0], x[1]) }},
		{name: "Neg", inputs: []input{n1(3, 2)}, f: func(x []*Var) *Var { return Neg(x[0]) }},
		{name: "Scale", inputs: []input{n1(3, 2)}, f: func(x []*Var) *Var { return Scale(x[0], -2.5) }},
		{name: "AddScalar", inputs: []input{n1(3, 2)}, f: func(x []*Var) *Var { return Mul(AddScalar(x[0], 3), x[0]) }},
		{name: "Square", inputs: []input{n1(3, 2)}, f: func(x []*Var) *Var { return Square(x[0]) }},
		{name: "Exp", inputs: []input{n1(3, 2)}, f: func(x []*Var) *Var { return Exp(x[0]) }},
		{name: "Log", inputs: []input{u(0.5, 2, 3, 2)}, f: func(x []*Var) *Var { return Log(x[0]) }},
		{name: "Sqrt", inputs: []input{u(0.5, 2, 3, 2)}, f: func(x []*Var) *Var { return Sqrt(x[0]) }},
		{name: "Rsqrt", inputs: []input{u(0.5, 2, 3, 2)}, f: func(x []*Var) *Var { return Rsqrt(x[0]) }},
		{name: "Pow", inputs: []input{u(0.5, 2, 3, 2)}, f: func(x []*Var) *Var { return Pow(x[0], 3.5) }},
		{name: "Abs", inputs: []input{n1(3, 4)}, kink: true, f: func(x []*Var) *Var { return Mul(Abs(x[0]), x[0]) }},
		{name: "Tanh", inputs: []input{n1(3, 2)}, f: func(x []*Var) *Var { return Tanh(x[0]) }},
		{name: "Sigmoid", inputs: []input{u(-3, 3, 3, 2)}, f: func(x []*Var) *Var { return Sigmoid(x[0]) }},
		{name: "ReLU", inputs: []input{n1(3, 4)}, kink: true, f: func(x []*Var) *Var { return Mul(ReLU(x[0]), x[0]) }},
		{name: "LeakyReLU", inputs: []input{n1(3, 4)}, kink: true, f: func(x []*Var) *Var { return Mul(LeakyReLU(x[0], 0.2), x[0]) }},
		{name: "Sum/axis", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var { return Square(Sum(x[0], false, 1)) }},
		{name: "Sum/keep", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var { return Square(Sum(x[0], true, 0, 2)) }},
		{name: "Sum/all", inputs: []input{n1(2, 3)}, f: func(x []*Var) *Var { return Square(Sum(x[0], false)) }},
		{name: "Mean", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var { return Square(Mean(x[0], true, -1)) }},
		{name: "Max", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var { return Square(Max(x[0], false, 1)) }},
		{name: "Max/all", inputs: []input{n1(2, 3)}, f: func(x []*Var) *Var { return Square(Max(x[0], true)) }},
		{name: "Variance", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var { return Variance(x[0], true, 1, 2) }},
		{name: "Standardize/trailing", inputs: []input{n1(3, 2, 2, 3)}, f: func(x []*Var) *Var {
			y, _, _ := Standardize(x[0], 1e-5, 1, 2, 3)
			return Mul(y, Const(tensor.Arange(0, 36, 1).Reshape(3, 2, 2, 3)))
		}},
		{name: "Standardize/channels", inputs: []input{n1(3, 2, 2, 3)}, f: func(x []*Var) *Var {
			y, _, _ := Standardize(x[0], 1e-5, 0, 2, 3)
			return Mul(y, Const(tensor.Arange(0, 36, 1).Reshape(3, 2, 2, 3)))
		}},
		{name: "Standardize/general", inputs: []input{n1(3, 4, 2)}, f: func(x []*Var) *Var {
			y, _, _ := Standardize(x[0], 1e-3, 0, 2)
			return Mul(y, Const(tensor.Arange(0, 24, 1).Reshape(3, 4, 2)))
		}},
		{name: "Softplus", inputs: []input{n1(3, 4)}, f: func(x []*Var) *Var { return Softplus(Scale(x[0], 3)) }},
		{name: "LogSoftmax", inputs: []input{n1(3, 4)}, f: func(x []*Var) *Var { return LogSoftmax(x[0], 1) }},
		{name: "Norm", inputs: []input{n1(3, 4)}, f: func(x []*Var) *Var { return Norm(x[0], false, 1) }},
		{name: "Reshape", inputs: []input{n1(2, 6)}, f: func(x []*Var) *Var { return Square(Reshape(x[0], 3, -1)) }},
		{name: "Permute", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var {
			return Mul(Permute(x[0], 2, 0, 1), Const(tensor.Arange(0, 24, 1).Reshape(4, 2, 3)))
		}},
		{name: "Transpose", inputs: []input{n1(2, 3)}, f: func(x []*Var) *Var { return Square(Transpose(x[0], 0, 1)) }},
		{name: "BroadcastTo", inputs: []input{n1(3, 1)}, f: func(x []*Var) *Var { return Square(BroadcastTo(x[0], 2, 3, 4)) }},
		{name: "SumTo", inputs: []input{n1(2, 3, 4)}, f: func(x []*Var) *Var { return Square(SumTo(x[0], 3, 1)) }},
		{name: "Slice", inputs: []input{n1(3, 5)}, f: func(x []*Var) *Var { return Square(Slice(x[0], 1, 1, 4)) }},
		{name: "Pad", inputs: []input{n1(2, 3)}, f: func(x []*Var) *Var {
			return Square(Pad(x[0], 0.5, [2]int{1, 0}, [2]int{2, 1}))
		}},
		{name: "Concat", inputs: []input{n1(2, 3), n1(2, 2)}, f: func(x []*Var) *Var { return Square(Concat(1, x[0], x[1])) }},
		{name: "Split", inputs: []input{n1(5, 2)}, f: func(x []*Var) *Var {
			p := Split(x[0], 0, 2, 3)
			return Mul(Sum(p[0], true, 0), Sum(p[1], true, 0))
		}},
		{name: "IndexSelect", inputs: []input{n1(4, 3)}, f: func(x []*Var) *Var { return Square(IndexSelect(x[0], 0, []int{3, 0, 3, 1})) }},
		{name: "IndexAdd", inputs: []input{n1(4, 3)}, f: func(x []*Var) *Var { return Square(IndexAdd(x[0], 0, []int{1, 0, 1, 2}, 3)) }},
		{name: "Where", inputs: []input{n1(2, 3), n1(3)}, f: func(x []*Var) *Var {
			cond := tensor.FromSlice([]float32{1, 0, 1, 0, 0, 1}, 2, 3)
			return Square(Where(cond, x[0], x[1]))
		}},
		{name: "MatMul", inputs: []input{n1(3, 4), n1(4, 2)}, f: func(x []*Var) *Var { return MatMul(x[0], x[1]) }},
		{name: "MatMul/batched-bcast", inputs: []input{n1(2, 3, 4), n1(4, 2)}, f: func(x []*Var) *Var { return MatMul(x[0], x[1]) }},
		{name: "MatMulT/ta", inputs: []input{n1(4, 3), n1(2, 4, 2)}, f: func(x []*Var) *Var { return MatMulT(x[0], x[1], true, false) }},
		{name: "MatMulT/tb", inputs: []input{n1(3, 4), n1(2, 4)}, f: func(x []*Var) *Var { return MatMulT(x[0], x[1], false, true) }},
		{name: "MatMulT/tatb", inputs: []input{n1(4, 3), n1(2, 4)}, f: func(x []*Var) *Var { return MatMulT(x[0], x[1], true, true) }},
		{name: "MatMul/square", inputs: []input{n1(3, 3)}, f: func(x []*Var) *Var { return MatMul(x[0], x[0]) }},
		{name: "Conv2d", inputs: []input{n1(2, 2, 5, 4), n1(3, 2, 3, 2)}, f: func(x []*Var) *Var {
			return Conv2d(x[0], x[1], conv)
		}},
		{name: "Conv2d/pad1", inputs: []input{n1(2, 3, 4, 4), n1(2, 3, 3, 3)}, f: func(x []*Var) *Var {
			return Tanh(Conv2d(x[0], x[1], tensor.ConvParams{Padding: [2]int{1, 1}}))
		}},
		{name: "Conv2dBias", inputs: []input{n1(2, 3, 4, 4), n1(2, 3, 3, 3), n1(2)}, f: func(x []*Var) *Var {
			return Tanh(Conv2dBias(x[0], x[1], x[2], tensor.ConvParams{Padding: [2]int{1, 1}}))
		}},
		{name: "Conv2dInputGrad", inputs: []input{n1(2, 3, 3, 6), n1(3, 2, 3, 2)}, f: func(x []*Var) *Var {
			return Conv2dInputGrad(x[0], x[1], 5, 4, conv)
		}},
		{name: "Conv2dWeightGrad", inputs: []input{n1(2, 2, 5, 4), n1(2, 3, 3, 6)}, f: func(x []*Var) *Var {
			return Conv2dWeightGrad(x[0], x[1], 3, 2, conv)
		}},
		{name: "UpsampleNearest", inputs: []input{n1(2, 2, 2, 3)}, f: func(x []*Var) *Var { return Square(UpsampleNearest(x[0], 2)) }},
		{name: "AvgPool2d/overlapping", inputs: []input{n1(2, 2, 5, 6)}, f: func(x []*Var) *Var {
			return Square(AvgPool2d(x[0], tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 2}, Padding: [2]int{1, 1}}))
		}},
		{name: "AvgPool2d/overlapping/exclude-pad", inputs: []input{n1(1, 2, 4, 5)}, f: func(x []*Var) *Var {
			return Square(AvgPool2d(x[0], tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true}))
		}},
		{name: "MaxPool2d", inputs: []input{n1(2, 2, 5, 5)}, distinct: true, f: func(x []*Var) *Var {
			return Square(MaxPool2d(x[0], tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}))
		}},
		{name: "MaxPool2d/scatter", inputs: []input{n1(1, 2, 4, 4), n1(1, 2, 2, 2)}, distinct: true, f: func(x []*Var) *Var {
			// The max-pool gradient is linear in the upstream gradient v:
			// differentiating it checks the scatter and gather ops.
			y := MaxPool2d(x[0], tensor.PoolParams{Kernel: [2]int{2, 2}})
			g := Grad(Sum(Mul(y, x[1]), false), []*Var{x[0]}, CreateGraph())[0]
			return Square(g)
		}},
		{name: "ResizeBilinear", inputs: []input{n1(1, 2, 3, 4)}, f: func(x []*Var) *Var { return Square(ResizeBilinear(x[0], 5, 7, false)) }},
		{name: "GlobalAvgPool2d", inputs: []input{n1(2, 3, 2, 2)}, f: func(x []*Var) *Var { return Square(GlobalAvgPool2d(x[0])) }},
		{name: "AvgPool2d", inputs: []input{n1(2, 2, 5, 4)}, f: func(x []*Var) *Var { return Square(AvgPool2d(x[0], tensor.Window(2))) }},
	}
}

func randomInputs(r *rand.Rand, c opCase) []*tensor.Tensor {
	ts := make([]*tensor.Tensor, len(c.inputs))
	for i, in := range c.inputs {
		ts[i] = tensor.RandU(r, in.lo, in.hi, in.shape...)
		if c.kink {
			ts[i] = awayFromZero(ts[i])
		}
		if c.distinct {
			d := ts[i].Data()
			for k, p := range r.Perm(len(d)) {
				d[k] = float32(p)*0.1 - float32(len(d))*0.05
			}
		}
	}
	return ts
}

func TestGradCheckOps(t *testing.T) {
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(len(c.name))))
			in := randomInputs(r, c)
			assert.NoError(t, GradCheck(c.f, in, nil), "GradCheck")
			assert.NoError(t, GradGradCheck(c.f, in, nil), "GradGradCheck")
		})
	}
}

// badTanh is tanh with a first-order error in its rule: 1 - y instead of
// 1 - y².
type badTanh struct{}

func (badTanh) op() Op { return OpTanh }
func (badTanh) backward(n *node, g *Var, need []bool, create bool) []*Var {
	return []*Var{Mul(g, AddScalar(Neg(n.out), 1))}
}

// constTanh is tanh with a second-order error only: the right value, built
// from a constant, so its own derivative is lost.
type constTanh struct{}

func (constTanh) op() Op { return OpTanh }
func (constTanh) backward(n *node, g *Var, need []bool, create bool) []*Var {
	d := tensor.AddScalar(tensor.Neg(tensor.Square(n.out.Value)), 1)
	return []*Var{Mul(g, Const(d))}
}

func TestGradCheckCatchesWrongRule(t *testing.T) {
	in := []*tensor.Tensor{tensor.FromSlice([]float32{-0.5, 0.1, 0.7}, 3)}
	with := func(p primitive) func(x []*Var) *Var {
		return func(x []*Var) *Var { return record(p, tensor.Tanh(x[0].Value), x[0]) }
	}
	assert.ErrorContains(t, GradCheck(with(badTanh{}), in, nil), "analytic", "GradCheck of a wrong tanh rule")
	assert.NoError(t, GradCheck(with(constTanh{}), in, nil), "GradCheck of a first-order-correct rule")
	assert.Error(t, GradGradCheck(with(constTanh{}), in, nil), "GradGradCheck of a rule that is not differentiable")
}

func TestRulesCoverEveryOp(t *testing.T) {
	// Each primitive recorded by the op table must have a rule, and every
	// rule must be exercised by some case.
	seen := map[Op]bool{}
	for _, c := range opCases() {
		r := rand.New(rand.NewPCG(1, 2))
		xs := make([]*Var, len(c.inputs))
		for i, in := range randomInputs(r, c) {
			xs[i] = Leaf(in)
		}
		y := c.f(xs)
		walk(y, seen)
		// The rules' own graphs: adjoint ops appear only there.
		seed := Leaf(tensor.RandN(r, y.Value.Shape()...))
		for _, g := range Grad(y, xs, Seed(seed), CreateGraph()) {
			walk(g, seen)
		}
	}
	for op := OpNone + 1; op < numOps; op++ {
		assert.True(t, seen[op], "the rule of %v is not exercised by the op table", op)
	}
}

func walk(v *Var, seen map[Op]bool) { walkFrom(v, seen, map[*Var]bool{}) }

func walkFrom(v *Var, seen map[Op]bool, visited map[*Var]bool) {
	if v.fn == nil || visited[v] {
		return
	}
	visited[v] = true
	seen[v.fn.prim.op()] = true
	for _, in := range v.fn.inputs {
		walkFrom(in, seen, visited)
	}
}

// randomBroadcastPair returns two shapes that broadcast together: a random
// shape and a copy with some axes set to 1 and some leading axes dropped,
// in random order.
func randomBroadcastPair(r *rand.Rand) (a, b []int) {
	rank := 1 + r.IntN(3)
	a = make([]int, rank)
	for i := range a {
		a[i] = 1 + r.IntN(4)
	}
	b = append([]int(nil), a[r.IntN(rank):]...)
	for i := range b {
		if r.IntN(2) == 0 {
			b[i] = 1
		}
	}
	if r.IntN(2) == 0 {
		a, b = b, a
	}
	return a, b
}

func TestGradCheckRandomBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ops := []struct {
		name string
		f    func(a, b *Var) *Var
	}{
		{"Add", Add}, {"Sub", Sub}, {"Mul", Mul}, {"Div", Div},
		{"Where", func(a, b *Var) *Var {
			shape := tensor.BroadcastShapes(a.Value.Shape(), b.Value.Shape())
			cond := tensor.Gt(tensor.RandN(rand.New(rand.NewPCG(5, 5)), shape...), tensor.Scalar(0))
			return Where(cond, Square(a), b)
		}},
	}
	for trial := range 12 {
		sa, sb := randomBroadcastPair(r)
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s/%v,%v", op.name, sa, sb), func(t *testing.T) {
				in := []*tensor.Tensor{tensor.RandU(r, -1, 1, sa...), tensor.RandU(r, 0.5, 2, sb...)}
				f := func(x []*Var) *Var { return Mul(op.f(x[0], x[1]), Add(x[0], x[1])) }
				assert.NoError(t, GradCheck(f, in, nil), "trial %d: GradCheck", trial)
				assert.NoError(t, GradGradCheck(f, in, nil), "trial %d: GradGradCheck", trial)
			})
		}
	}
}
