package autograd

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// This file holds the primitive operations: each computes its value with
// package tensor and records itself with its typed attributes, whose
// backward method is in rules.go. Composite operations are in composite.go.

type (
	addOp       struct{}
	subOp       struct{}
	mulOp       struct{}
	divOp       struct{}
	mulAddOp    struct{}
	scaleOp     struct{ s float32 }
	addScalarOp struct{}
	expOp       struct{}
	logOp       struct{}
	sqrtOp      struct{}
	powOp       struct{ p float32 }
	tanhOp      struct{}
	sigmoidOp   struct{}
	reluOp      struct{}
	leakyReLUOp struct{ slope float32 }
	// leakyReLUGradOp is g where x > 0 and slope*g elsewhere (inputs g, x).
	leakyReLUGradOp struct{ slope float32 }
	standardizeOp   struct {
		eps      float32
		axes     []int
		variance *tensor.Tensor // the forward's, for the fused first-order rule
	}
	// sumOp, meanOp and maxOp reduce over axes (all when empty).
	sumOp         struct{ reduction }
	meanOp        struct{ reduction }
	maxOp         struct{ reduction }
	reshapeOp     struct{}
	permuteOp     struct{ perm []int }
	broadcastToOp struct{}
	sumToOp       struct{}
	sliceOp       struct{ axis, start, end int }
	padOp         struct{ pads [][2]int }
	concatOp      struct{ axis int }
	indexSelectOp struct{ index }
	indexAddOp    struct{ index }
	whereOp       struct{ cond *tensor.Tensor }
	matMulOp      struct{ transA, transB bool }
	conv2dOp      struct{ p tensor.ConvParams }
	// conv2dInputGradOp and conv2dWeightGradOp keep the input's height and
	// width, or the kernel's.
	conv2dInputGradOp  struct{ conv2dGrad }
	conv2dWeightGradOp struct{ conv2dGrad }
	upsampleNearestOp  struct{ s int }
	// avgPool2dOp and avgPool2dGradOp keep the input's height and width.
	avgPool2dOp     struct{ pooling }
	avgPool2dGradOp struct{ pooling }
	maxPool2dOp     struct{ planes }
	// scatterAddPlanesOp and gatherPlanesOp keep the other side's plane
	// size.
	scatterAddPlanesOp struct{ planes }
	gatherPlanesOp     struct{ planes }
)

// Attributes shared by several primitives.
type (
	reduction struct {
		keep bool
		axes []int
	}
	index struct {
		axis int
		idx  []int
		n    int // size of the indexed axis of the source
	}
	conv2dGrad struct {
		p    tensor.ConvParams
		h, w int
	}
	pooling struct {
		p    tensor.PoolParams
		h, w int
	}
	planes struct {
		idx  []int32
		h, w int
	}
)

func (addOp) op() Op              { return OpAdd }
func (subOp) op() Op              { return OpSub }
func (mulOp) op() Op              { return OpMul }
func (divOp) op() Op              { return OpDiv }
func (mulAddOp) op() Op           { return OpMulAdd }
func (scaleOp) op() Op            { return OpScale }
func (addScalarOp) op() Op        { return OpAddScalar }
func (expOp) op() Op              { return OpExp }
func (logOp) op() Op              { return OpLog }
func (sqrtOp) op() Op             { return OpSqrt }
func (powOp) op() Op              { return OpPow }
func (tanhOp) op() Op             { return OpTanh }
func (sigmoidOp) op() Op          { return OpSigmoid }
func (reluOp) op() Op             { return OpReLU }
func (leakyReLUOp) op() Op        { return OpLeakyReLU }
func (leakyReLUGradOp) op() Op    { return OpLeakyReLUGrad }
func (standardizeOp) op() Op      { return OpStandardize }
func (sumOp) op() Op              { return OpSum }
func (meanOp) op() Op             { return OpMean }
func (maxOp) op() Op              { return OpMax }
func (reshapeOp) op() Op          { return OpReshape }
func (permuteOp) op() Op          { return OpPermute }
func (broadcastToOp) op() Op      { return OpBroadcastTo }
func (sumToOp) op() Op            { return OpSumTo }
func (sliceOp) op() Op            { return OpSlice }
func (padOp) op() Op              { return OpPad }
func (concatOp) op() Op           { return OpConcat }
func (indexSelectOp) op() Op      { return OpIndexSelect }
func (indexAddOp) op() Op         { return OpIndexAdd }
func (whereOp) op() Op            { return OpWhere }
func (matMulOp) op() Op           { return OpMatMul }
func (conv2dOp) op() Op           { return OpConv2d }
func (conv2dInputGradOp) op() Op  { return OpConv2dInputGrad }
func (conv2dWeightGradOp) op() Op { return OpConv2dWeightGrad }
func (upsampleNearestOp) op() Op  { return OpUpsampleNearest }
func (avgPool2dOp) op() Op        { return OpAvgPool2d }
func (avgPool2dGradOp) op() Op    { return OpAvgPool2dGrad }
func (maxPool2dOp) op() Op        { return OpMaxPool2d }
func (scatterAddPlanesOp) op() Op { return OpScatterAddPlanes }
func (gatherPlanesOp) op() Op     { return OpGatherPlanes }

// Add returns a + b, broadcasting as tensor.Add.
func Add(a, b *Var) *Var { return record(addOp{}, tensor.Add(a.Value, b.Value), a, b) }

// Sub returns a - b, broadcasting as tensor.Sub.
func Sub(a, b *Var) *Var { return record(subOp{}, tensor.Sub(a.Value, b.Value), a, b) }

// Mul returns a * b elementwise, broadcasting as tensor.Mul.
func Mul(a, b *Var) *Var { return record(mulOp{}, tensor.Mul(a.Value, b.Value), a, b) }

// Div returns a / b elementwise, broadcasting as tensor.Div.
func Div(a, b *Var) *Var { return record(divOp{}, tensor.Div(a.Value, b.Value), a, b) }

// MulAdd returns a*w + b with all three broadcast together, as one op: the
// scale-and-shift of normalisation layers.
func MulAdd(a, w, b *Var) *Var {
	return record(mulAddOp{}, tensor.MulAdd(a.Value, w.Value, b.Value), a, w, b)
}

// Scale returns s*x.
func Scale(x *Var, s float32) *Var { return record(scaleOp{s}, tensor.Scale(x.Value, s), x) }

// AddScalar returns x + s.
func AddScalar(x *Var, s float32) *Var {
	return record(addScalarOp{}, tensor.AddScalar(x.Value, s), x)
}

// Exp returns e**x.
func Exp(x *Var) *Var { return record(expOp{}, tensor.Exp(x.Value), x) }

// Log returns the natural logarithm of x.
func Log(x *Var) *Var { return record(logOp{}, tensor.Log(x.Value), x) }

// Sqrt returns the square root of x.
func Sqrt(x *Var) *Var { return record(sqrtOp{}, tensor.Sqrt(x.Value), x) }

// Pow returns x**p for a constant exponent p.
func Pow(x *Var, p float32) *Var { return record(powOp{p}, tensor.Pow(x.Value, p), x) }

// Tanh returns the hyperbolic tangent of x.
func Tanh(x *Var) *Var { return record(tanhOp{}, tensor.Tanh(x.Value), x) }

// Sigmoid returns 1/(1+e**-x).
func Sigmoid(x *Var) *Var { return record(sigmoidOp{}, tensor.Sigmoid(x.Value), x) }

// ReLU returns max(x, 0). Its derivative at 0 is taken as 0.
func ReLU(x *Var) *Var { return record(reluOp{}, tensor.ReLU(x.Value), x) }

// LeakyReLU returns x where x > 0 and slope*x elsewhere.
func LeakyReLU(x *Var, slope float32) *Var {
	return record(leakyReLUOp{slope}, tensor.LeakyReLU(x.Value, slope), x)
}

// leakyReLUGrad is g where x > 0 and slope*g elsewhere: the derivative of
// (leaky) ReLU at x applied to g, as one op.
func leakyReLUGrad(g, x *Var, slope float32) *Var {
	return record(leakyReLUGradOp{slope}, tensor.LeakyReLUGrad(g.Value, x.Value, slope), g, x)
}

// Sum returns the sum of x over axes (all when none are given), keeping the
// reduced axes with size 1 when keepDims is set, as tensor.Sum.
func Sum(x *Var, keepDims bool, axes ...int) *Var {
	return record(sumOp{reduction{keepDims, slices.Clone(axes)}}, tensor.Sum(x.Value, keepDims, axes...), x)
}

// Mean returns the mean of x over axes (all when none are given), as
// tensor.Mean.
func Mean(x *Var, keepDims bool, axes ...int) *Var {
	return record(meanOp{reduction{keepDims, slices.Clone(axes)}}, tensor.Mean(x.Value, keepDims, axes...), x)
}

// Max returns the maximum of x over axes (all when none are given), as
// tensor.Max. The gradient is shared equally among tied maxima, as
// torch.amax does.
func Max(x *Var, keepDims bool, axes ...int) *Var {
	return record(maxOp{reduction{keepDims, slices.Clone(axes)}}, tensor.Max(x.Value, keepDims, axes...), x)
}

// Reshape returns x with a new shape of the same size (one entry may be -1).
//
// It panics as tensor.Tensor.Reshape does.
func Reshape(x *Var, shape ...int) *Var {
	return record(reshapeOp{}, x.Value.Reshape(shape...), x)
}

// Flatten returns x reshaped to [N, rest]: the first axis kept, the others
// merged, as torch.flatten(x, 1).
func Flatten(x *Var) *Var {
	if x.Value.Dims() < 1 {
		panic("autograd: Flatten: scalar input")
	}
	return Reshape(x, x.Value.Dim(0), -1)
}

// Permute returns x with axis i of the result taken from axis perm[i].
func Permute(x *Var, perm ...int) *Var {
	return record(permuteOp{slices.Clone(perm)}, tensor.Permute(x.Value, perm...), x)
}

// Transpose returns x with axes i and j swapped.
func Transpose(x *Var, i, j int) *Var {
	n := x.Value.Dims()
	perm := make([]int, n)
	for k := range perm {
		perm[k] = k
	}
	i, j = normAxis("Transpose", i, n), normAxis("Transpose", j, n)
	perm[i], perm[j] = perm[j], perm[i]
	return Permute(x, perm...)
}

func normAxis(op string, a, n int) int {
	if a < 0 {
		a += n
	}
	if a < 0 || a >= n {
		panic(fmt.Sprintf("autograd: %s: axis %d out of range for %d dimensions", op, a, n))
	}
	return a
}

// BroadcastTo returns x stretched to shape by broadcasting.
func BroadcastTo(x *Var, shape ...int) *Var {
	return record(broadcastToOp{}, tensor.BroadcastTo(x.Value, shape...), x)
}

// SumTo sums x down to shape, the adjoint of BroadcastTo.
func SumTo(x *Var, shape ...int) *Var {
	if slices.Equal(x.Value.Shape(), shape) {
		return x
	}
	return record(sumToOp{}, tensor.SumTo(x.Value, shape...), x)
}

// Slice returns the part of x with index in [start, end) along axis.
func Slice(x *Var, axis, start, end int) *Var {
	axis = normAxis("Slice", axis, x.Value.Dims())
	return record(sliceOp{axis, start, end}, tensor.Slice(x.Value, axis, start, end), x)
}

// Pad returns x with pads[i][0] values before and pads[i][1] after it along
// each axis i, filled with value.
func Pad(x *Var, value float32, pads ...[2]int) *Var {
	return record(padOp{slices.Clone(pads)}, tensor.Pad(x.Value, value, pads...), x)
}

// Concat joins xs along axis.
func Concat(axis int, xs ...*Var) *Var {
	ts := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		ts[i] = x.Value
	}
	out := tensor.Concat(axis, ts...)
	return record(concatOp{normAxis("Concat", axis, out.Dims())}, out, xs...)
}

// Split cuts x along axis into pieces of the given sizes.
func Split(x *Var, axis int, sizes ...int) []*Var {
	axis = normAxis("Split", axis, x.Value.Dims())
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("autograd: Split: negative size in %v", sizes))
		}
		total += s
	}
	if total != x.Value.Dim(axis) {
		panic(fmt.Sprintf("autograd: Split: sizes %v do not add up to %d (axis %d of %v)", sizes, x.Value.Dim(axis), axis, x.Value.Shape()))
	}
	out := make([]*Var, len(sizes))
	start := 0
	for i, s := range sizes {
		out[i] = Slice(x, axis, start, start+s)
		start += s
	}
	return out
}

// IndexSelect returns the slices of x at idx along axis (embedding lookup).
func IndexSelect(x *Var, axis int, idx []int) *Var {
	axis = normAxis("IndexSelect", axis, x.Value.Dims())
	return record(indexSelectOp{index{axis, slices.Clone(idx), x.Value.Dim(axis)}}, tensor.IndexSelect(x.Value, axis, idx), x)
}

// IndexAdd returns zeros with n slices along axis into which the slices of
// src are added at idx: the adjoint of IndexSelect.
func IndexAdd(src *Var, axis int, idx []int, n int) *Var {
	axis = normAxis("IndexAdd", axis, src.Value.Dims())
	shape := slices.Clone(src.Value.Shape())
	shape[axis] = n
	out := tensor.IndexAdd(tensor.New(shape...), axis, idx, src.Value)
	return record(indexAddOp{index{axis, slices.Clone(idx), n}}, out, src)
}

// Where returns a where cond is non-zero and b elsewhere, broadcasting all
// three. cond is a constant mask.
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	return record(whereOp{cond}, tensor.Where(cond, a.Value, b.Value), a, b)
}

// MatMul returns the matrix product a·b over the last two axes, broadcasting
// batch axes, as tensor.MatMul.
func MatMul(a, b *Var) *Var { return MatMulT(a, b, false, false) }

// MatMulT returns op(a)·op(b), transposing the last two axes of a and b as
// transA and transB say, as tensor.MatMulT.
func MatMulT(a, b *Var, transA, transB bool) *Var {
	return record(matMulOp{transA, transB}, tensor.MatMulT(a.Value, b.Value, transA, transB), a, b)
}

// Conv2d returns the cross-correlation of x [N,C,H,W] with filters
// w [O,C,KH,KW], as tensor.Conv2d (add a bias separately).
func Conv2d(x, w *Var, p tensor.ConvParams) *Var {
	return record(conv2dOp{p}, tensor.Conv2d(x.Value, w.Value, p), x, w)
}

// Conv2dBias is Conv2d plus b [O] on every pixel of output channel o, as
// torch.nn.functional.conv2d with a bias: one op, computed in one pass
// where the kernels allow.
func Conv2dBias(x, w, b *Var, p tensor.ConvParams) *Var {
	return record(conv2dOp{p}, tensor.Conv2dBias(x.Value, w.Value, b.Value, p), x, w, b)
}

// Conv2dInputGrad returns the gradient of Conv2d with respect to an input of
// height h and width w, for output gradient gy and filters w: the
// transposed convolution. It is differentiable in both arguments.
func Conv2dInputGrad(gy, wt *Var, h, w int, p tensor.ConvParams) *Var {
	return record(conv2dInputGradOp{conv2dGrad{p, h, w}}, tensor.Conv2dInputGrad(gy.Value, wt.Value, h, w, p), gy, wt)
}

// Conv2dWeightGrad returns the gradient of Conv2d with respect to kh×kw
// filters, for input x and output gradient gy. It is differentiable in both
// arguments.
func Conv2dWeightGrad(x, gy *Var, kh, kw int, p tensor.ConvParams) *Var {
	return record(conv2dWeightGradOp{conv2dGrad{p, kh, kw}}, tensor.Conv2dWeightGrad(x.Value, gy.Value, kh, kw, p), x, gy)
}

// UpsampleNearest enlarges x [N,C,H,W] s times by repeating pixels.
func UpsampleNearest(x *Var, s int) *Var {
	return record(upsampleNearestOp{s}, tensor.UpsampleNearest(x.Value, s), x)
}

// AvgPool2d averages the windows of x [N,C,H,W] that p describes, as
// tensor.AvgPool2d; AvgPool2d(x, tensor.Window(2)) is the paper's mean pool.
func AvgPool2d(x *Var, p tensor.PoolParams) *Var {
	a := pooling{p, x.Value.Dim(2), x.Value.Dim(3)}
	return record(avgPool2dOp{a}, tensor.AvgPool2d(x.Value, p), x)
}

// avgPool2dGrad is the adjoint of AvgPool2d, an op so that it can be
// differentiated again.
func avgPool2dGrad(g *Var, a pooling) *Var {
	return record(avgPool2dGradOp{a}, tensor.AvgPool2dGrad(g.Value, a.h, a.w, a.p), g)
}

// MaxPool2d returns the maxima of the windows of x [N,C,H,W] that p
// describes, as tensor.MaxPool2d. The gradient flows to the chosen elements.
func MaxPool2d(x *Var, p tensor.PoolParams) *Var {
	out, idx := tensor.MaxPool2dIndices(x.Value, p)
	return record(maxPool2dOp{planes{idx, x.Value.Dim(2), x.Value.Dim(3)}}, out, x)
}

func scatterAddPlanes(g *Var, idx []int32, h, w int) *Var {
	return record(scatterAddPlanesOp{planes{idx, g.Value.Dim(2), g.Value.Dim(3)}}, tensor.ScatterAddPlanes(g.Value, idx, h, w), g)
}

func gatherPlanes(g *Var, idx []int32, oh, ow int) *Var {
	return record(gatherPlanesOp{planes{idx, g.Value.Dim(2), g.Value.Dim(3)}}, tensor.GatherPlanes(g.Value, idx, oh, ow), g)
}

// Standardize returns (x - mean) / sqrt(var + eps) with the mean and biased
// variance over axes (the core of batch and layer normalisation) as one
// fused op, and the batch statistics as constants (for running averages).
func Standardize(x *Var, eps float32, axes ...int) (y *Var, mean, variance *tensor.Tensor) {
	out, m, v := tensor.Standardize(x.Value, eps, axes...)
	return record(standardizeOp{eps, slices.Clone(axes), v}, out, x), m, v
}
