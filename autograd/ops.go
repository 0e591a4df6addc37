package autograd

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// This file holds the primitive operations: each computes its value with
// package tensor and records itself for the rule of the same name in
// rules.go. Composite operations are in composite.go.

// Add returns a + b, broadcasting as tensor.Add.
func Add(a, b *Var) *Var { return record("add", tensor.Add(a.Value, b.Value), nil, a, b) }

// Sub returns a - b, broadcasting as tensor.Sub.
func Sub(a, b *Var) *Var { return record("sub", tensor.Sub(a.Value, b.Value), nil, a, b) }

// Mul returns a * b elementwise, broadcasting as tensor.Mul.
func Mul(a, b *Var) *Var { return record("mul", tensor.Mul(a.Value, b.Value), nil, a, b) }

// Div returns a / b elementwise, broadcasting as tensor.Div.
func Div(a, b *Var) *Var { return record("div", tensor.Div(a.Value, b.Value), nil, a, b) }

// Neg returns -x.
func Neg(x *Var) *Var { return record("neg", tensor.Neg(x.Value), nil, x) }

// Scale returns s*x.
func Scale(x *Var, s float32) *Var { return record("scale", tensor.Scale(x.Value, s), s, x) }

// AddScalar returns x + s.
func AddScalar(x *Var, s float32) *Var {
	return record("addscalar", tensor.AddScalar(x.Value, s), nil, x)
}

// Square returns x*x.
func Square(x *Var) *Var { return record("square", tensor.Square(x.Value), nil, x) }

// Exp returns e**x.
func Exp(x *Var) *Var { return record("exp", tensor.Exp(x.Value), nil, x) }

// Log returns the natural logarithm of x.
func Log(x *Var) *Var { return record("log", tensor.Log(x.Value), nil, x) }

// Sqrt returns the square root of x.
func Sqrt(x *Var) *Var { return record("sqrt", tensor.Sqrt(x.Value), nil, x) }

// Rsqrt returns 1/sqrt(x).
func Rsqrt(x *Var) *Var { return record("rsqrt", tensor.Rsqrt(x.Value), nil, x) }

// Pow returns x**p for a constant exponent p.
func Pow(x *Var, p float32) *Var { return record("pow", tensor.Pow(x.Value, p), p, x) }

// Abs returns |x|. Its derivative at 0 is taken as 0.
func Abs(x *Var) *Var { return record("abs", tensor.Abs(x.Value), nil, x) }

// Tanh returns the hyperbolic tangent of x.
func Tanh(x *Var) *Var { return record("tanh", tensor.Tanh(x.Value), nil, x) }

// Sigmoid returns 1/(1+e**-x).
func Sigmoid(x *Var) *Var { return record("sigmoid", tensor.Sigmoid(x.Value), nil, x) }

// ReLU returns max(x, 0). Its derivative at 0 is taken as 0.
func ReLU(x *Var) *Var { return record("relu", tensor.ReLU(x.Value), nil, x) }

// LeakyReLU returns x where x > 0 and slope*x elsewhere.
func LeakyReLU(x *Var, slope float32) *Var {
	return record("leakyrelu", tensor.LeakyReLU(x.Value, slope), slope, x)
}

// maskBySign is g where x > 0 and slope*g elsewhere: the derivative of
// (leaky) ReLU applied to g, as one op.
func maskBySign(g, x *Var, slope float32) *Var {
	return record("masksign", tensor.MaskBySign(g.Value, x.Value, slope), slope, g, x)
}

// reduceAttrs are the attributes of the reductions.
type reduceAttrs struct {
	keep bool
	axes []int
}

// Sum returns the sum of x over axes (all when none are given), keeping the
// reduced axes with size 1 when keepDims is set, as tensor.Sum.
func Sum(x *Var, keepDims bool, axes ...int) *Var {
	return record("sum", tensor.Sum(x.Value, keepDims, axes...), reduceAttrs{keepDims, slices.Clone(axes)}, x)
}

// Mean returns the mean of x over axes (all when none are given), as
// tensor.Mean.
func Mean(x *Var, keepDims bool, axes ...int) *Var {
	return record("mean", tensor.Mean(x.Value, keepDims, axes...), reduceAttrs{keepDims, slices.Clone(axes)}, x)
}

// Max returns the maximum of x over axes (all when none are given), as
// tensor.Max. The gradient is shared equally among tied maxima, as
// torch.amax does.
func Max(x *Var, keepDims bool, axes ...int) *Var {
	return record("max", tensor.Max(x.Value, keepDims, axes...), reduceAttrs{keepDims, slices.Clone(axes)}, x)
}

// Reshape returns x with a new shape of the same size (one entry may be -1).
//
// It panics as tensor.Tensor.Reshape does.
func Reshape(x *Var, shape ...int) *Var {
	return record("reshape", x.Value.Reshape(shape...), nil, x)
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
	return record("permute", tensor.Permute(x.Value, perm...), slices.Clone(perm), x)
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
	return record("broadcast", tensor.BroadcastTo(x.Value, shape...), nil, x)
}

// SumTo sums x down to shape, the adjoint of BroadcastTo.
func SumTo(x *Var, shape ...int) *Var {
	if slices.Equal(x.Value.Shape(), shape) {
		return x
	}
	return record("sumto", tensor.SumTo(x.Value, shape...), nil, x)
}

type sliceAttrs struct{ axis, start, end int }

// Slice returns the part of x with index in [start, end) along axis.
func Slice(x *Var, axis, start, end int) *Var {
	axis = normAxis("Slice", axis, x.Value.Dims())
	return record("slice", tensor.Slice(x.Value, axis, start, end), sliceAttrs{axis, start, end}, x)
}

// Pad returns x with pads[i][0] values before and pads[i][1] after it along
// each axis i, filled with value.
func Pad(x *Var, value float32, pads ...[2]int) *Var {
	return record("pad", tensor.Pad(x.Value, value, pads...), slices.Clone(pads), x)
}

// Concat joins xs along axis.
func Concat(axis int, xs ...*Var) *Var {
	ts := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		ts[i] = x.Value
	}
	out := tensor.Concat(axis, ts...)
	return record("concat", out, normAxis("Concat", axis, out.Dims()), xs...)
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

type indexAttrs struct {
	axis int
	idx  []int
	n    int // size of the indexed axis of the source
}

// IndexSelect returns the slices of x at idx along axis (embedding lookup).
func IndexSelect(x *Var, axis int, idx []int) *Var {
	axis = normAxis("IndexSelect", axis, x.Value.Dims())
	return record("indexselect", tensor.IndexSelect(x.Value, axis, idx), indexAttrs{axis, slices.Clone(idx), x.Value.Dim(axis)}, x)
}

// IndexAdd returns zeros with n slices along axis into which the slices of
// src are added at idx: the adjoint of IndexSelect.
func IndexAdd(src *Var, axis int, idx []int, n int) *Var {
	axis = normAxis("IndexAdd", axis, src.Value.Dims())
	shape := slices.Clone(src.Value.Shape())
	shape[axis] = n
	out := tensor.IndexAdd(tensor.New(shape...), axis, idx, src.Value)
	return record("indexadd", out, indexAttrs{axis, slices.Clone(idx), n}, src)
}

// Where returns a where cond is non-zero and b elsewhere, broadcasting all
// three. cond is a constant mask.
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	return record("where", tensor.Where(cond, a.Value, b.Value), cond, a, b)
}

type matmulAttrs struct{ ta, tb bool }

// MatMul returns the matrix product a·b over the last two axes, broadcasting
// batch axes, as tensor.MatMul.
func MatMul(a, b *Var) *Var { return MatMulT(a, b, false, false) }

// MatMulT returns op(a)·op(b), transposing the last two axes of a and b as
// transA and transB say, as tensor.MatMulT.
func MatMulT(a, b *Var, transA, transB bool) *Var {
	return record("matmul", tensor.MatMulT(a.Value, b.Value, transA, transB), matmulAttrs{transA, transB}, a, b)
}

// Conv2d returns the cross-correlation of x [N,C,H,W] with filters
// w [O,C,KH,KW], as tensor.Conv2d (add a bias separately).
func Conv2d(x, w *Var, p tensor.ConvParams) *Var {
	return record("conv2d", tensor.Conv2d(x.Value, w.Value, p), p, x, w)
}

// Conv2dBias is Conv2d plus b [O] on every pixel of output channel o, as
// torch.nn.functional.conv2d with a bias: one op, computed in one pass
// where the kernels allow.
func Conv2dBias(x, w, b *Var, p tensor.ConvParams) *Var {
	return record("conv2d", tensor.Conv2dBias(x.Value, w.Value, b.Value, p), p, x, w, b)
}

type convGradAttrs struct {
	p    tensor.ConvParams
	h, w int // input height and width (for the input gradient) or kernel size (for the weight gradient)
}

// Conv2dInputGrad returns the gradient of Conv2d with respect to an input of
// height h and width w, for output gradient gy and filters w: the
// transposed convolution. It is differentiable in both arguments.
func Conv2dInputGrad(gy, wt *Var, h, w int, p tensor.ConvParams) *Var {
	return record("conv2d_dx", tensor.Conv2dInputGrad(gy.Value, wt.Value, h, w, p), convGradAttrs{p, h, w}, gy, wt)
}

// Conv2dWeightGrad returns the gradient of Conv2d with respect to kh×kw
// filters, for input x and output gradient gy. It is differentiable in both
// arguments.
func Conv2dWeightGrad(x, gy *Var, kh, kw int, p tensor.ConvParams) *Var {
	return record("conv2d_dw", tensor.Conv2dWeightGrad(x.Value, gy.Value, kh, kw, p), convGradAttrs{p, kh, kw}, x, gy)
}

// UpsampleNearest enlarges x [N,C,H,W] s times by repeating pixels.
func UpsampleNearest(x *Var, s int) *Var {
	return record("upsample", tensor.UpsampleNearest(x.Value, s), s, x)
}

// AvgPool2d averages non-overlapping k×k windows of x [N,C,H,W], dropping
// rows and columns that do not fill a window.
func AvgPool2d(x *Var, k int) *Var {
	return record("avgpool", tensor.AvgPool2d(x.Value, k), k, x)
}

type poolAttrs struct {
	p    tensor.PoolParams
	h, w int // input height and width
}

// AvgPool2dWith averages the windows of x [N,C,H,W] that p describes, as
// tensor.AvgPool2dWith.
func AvgPool2dWith(x *Var, p tensor.PoolParams) *Var {
	return record("avgpoolp", tensor.AvgPool2dWith(x.Value, p), poolAttrs{p, x.Value.Dim(2), x.Value.Dim(3)}, x)
}

// avgPool2dWithGrad is the adjoint of AvgPool2dWith, an op so that it can
// be differentiated again.
func avgPool2dWithGrad(g *Var, a poolAttrs) *Var {
	return record("avgpoolp_grad", tensor.AvgPool2dWithGrad(g.Value, a.h, a.w, a.p), a, g)
}

type planeAttrs struct {
	idx  []int32
	h, w int // the size of the other side's planes
}

// MaxPool2d returns the maxima of the windows of x [N,C,H,W] that p
// describes, as tensor.MaxPool2d. The gradient flows to the chosen elements.
func MaxPool2d(x *Var, p tensor.PoolParams) *Var {
	out, idx := tensor.MaxPool2d(x.Value, p)
	return record("maxpool", out, planeAttrs{idx, x.Value.Dim(2), x.Value.Dim(3)}, x)
}

func planeScatter(g *Var, idx []int32, h, w int) *Var {
	return record("planescatter", tensor.PlaneScatter(g.Value, idx, h, w), planeAttrs{idx, g.Value.Dim(2), g.Value.Dim(3)}, g)
}

func planeGather(g *Var, idx []int32, oh, ow int) *Var {
	return record("planegather", tensor.PlaneGather(g.Value, idx, oh, ow), planeAttrs{idx, g.Value.Dim(2), g.Value.Dim(3)}, g)
}

type standardizeAttrs struct {
	eps      float32
	axes     []int
	variance *tensor.Tensor // the forward's, for the fused first-order rule
}

// Standardize returns (x - mean) / sqrt(var + eps) with the mean and biased
// variance over axes (the core of batch and layer normalisation) as one
// fused op, and the batch statistics as constants (for running averages).
func Standardize(x *Var, eps float32, axes ...int) (y *Var, mean, variance *tensor.Tensor) {
	out, m, v := tensor.Standardize(x.Value, eps, axes...)
	return record("standardize", out, standardizeAttrs{eps, slices.Clone(axes), v}, x), m, v
}

// MulAdd returns a*w + b with all three broadcast together, as one op: the
// scale-and-shift of normalisation layers.
func MulAdd(a, w, b *Var) *Var {
	return record("muladd", tensor.MulAdd(a.Value, w.Value, b.Value), nil, a, w, b)
}
