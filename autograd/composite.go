package autograd

import (
	"fmt"

	"github.com/gantry-go/gantry/tensor"
)

// Composite operations, built from the primitives; they need no rules.

// Neg returns -x.
func Neg(x *Var) *Var { return Scale(x, -1) }

// Square returns x*x.
func Square(x *Var) *Var { return Pow(x, 2) }

// Rsqrt returns 1/sqrt(x).
func Rsqrt(x *Var) *Var { return Pow(x, -0.5) }

// Abs returns |x|, as x·sign(x) with the sign a constant: its derivative at
// 0 is taken as 0.
func Abs(x *Var) *Var { return Mul(x, Const(tensor.Sign(x.Value))) }

// Softplus returns log(1 + e**x), computed stably as
// max(x, 0) + log(1 + e**-|x|).
func Softplus(x *Var) *Var {
	return Add(ReLU(x), Log(AddScalar(Exp(Neg(Abs(x))), 1)))
}

// Variance returns the biased (population) variance of x over axes, the
// form normalisation layers use: mean((x - mean(x))²).
func Variance(x *Var, keepDims bool, axes ...int) *Var {
	d := Sub(x, Mean(x, true, axes...))
	return Mean(Square(d), keepDims, axes...)
}

// Norm returns the Euclidean norm of x over axes (all when none are given).
// Its gradient at 0 is not finite, as in PyTorch.
func Norm(x *Var, keepDims bool, axes ...int) *Var {
	return Sqrt(Sum(Square(x), keepDims, axes...))
}

// LogSoftmax returns x - logsumexp(x) along axis, computed stably.
func LogSoftmax(x *Var, axis int) *Var {
	m := Const(maxKeep(x, axis))
	s := Sub(x, m)
	return Sub(s, Log(Sum(Exp(s), true, axis)))
}

// Softmax returns exp(x) / sum(exp(x)) along axis, computed stably.
func Softmax(x *Var, axis int) *Var {
	return Exp(LogSoftmax(x, axis))
}

// MeanAll returns the mean of every element of x, as a scalar.
func MeanAll(x *Var) *Var { return Mean(x, false) }

// maxKeep is the constant shift that keeps exp from overflowing.
func maxKeep(x *Var, axis int) *tensor.Tensor { return tensor.Max(x.Value, true, axis) }

// GlobalAvgPool2d averages x [N,C,H,W] over its spatial axes, giving [N,C].
func GlobalAvgPool2d(x *Var) *Var { return Mean(x, false, 2, 3) }

// ResizeBilinear resizes x [N,C,H,W] to h×w with bilinear interpolation, as
// F.interpolate(x, size=(h, w), mode="bilinear", align_corners=alignCorners):
// two matrix products with constant interpolation matrices, so it is
// differentiable to any order.
func ResizeBilinear(x *Var, h, w int, alignCorners bool) *Var {
	if x.Value.Dims() != 4 {
		panic(fmt.Sprintf("autograd: ResizeBilinear: input %v is not [N,C,H,W]", x.Value.Shape()))
	}
	rh := Const(tensor.ResizeMatrix(x.Value.Dim(2), h, alignCorners))
	rw := Const(tensor.ResizeMatrix(x.Value.Dim(3), w, alignCorners))
	return MatMulT(MatMul(rh, x), rw, false, true)
}
