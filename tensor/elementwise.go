package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/gantry-go/gantry/internal/bufpool"
	"github.com/gantry-go/gantry/internal/kernels"
)

// binOp names a binary elementwise operation.
type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opMax
	opMin
	opGt
	opGe
	opLt
	opLe
	opEq
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "Gt", "Ge", "Lt", "Le", "Eq"}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// binRun applies op to n elements: x and y advance by sx and sy (0 or 1).
func binRun(op binOp, dst, x []float32, sx int, y []float32, sy int) {
	n := len(dst)
	switch {
	case sx == 1 && sy == 1:
		x, y = x[:n], y[:n]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = x[i] + y[i]
			}
		case opSub:
			for i := range dst {
				dst[i] = x[i] - y[i]
			}
		case opMul:
			for i := range dst {
				dst[i] = x[i] * y[i]
			}
		case opDiv:
			for i := range dst {
				dst[i] = x[i] / y[i]
			}
		default:
			for i := range dst {
				dst[i] = binScalar(op, x[i], y[i])
			}
		}
	case sy == 0:
		x = x[:(n-1)*sx+1]
		v := y[0]
		switch {
		case op == opAdd && sx == 1:
			for i := range dst {
				dst[i] = x[i] + v
			}
		case op == opSub && sx == 1:
			for i := range dst {
				dst[i] = x[i] - v
			}
		case op == opMul && sx == 1:
			for i := range dst {
				dst[i] = x[i] * v
			}
		default:
			for i := range dst {
				dst[i] = binScalar(op, x[i*sx], v)
			}
		}
	default: // sx == 0, sy == 1
		y = y[:n]
		u := x[0]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = u + y[i]
			}
		case opMul:
			for i := range dst {
				dst[i] = u * y[i]
			}
		default:
			for i := range dst {
				dst[i] = binScalar(op, u, y[i])
			}
		}
	}
}

func binScalar(op binOp, a, b float32) float32 {
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return a / b
	case opMax:
		if a != a || a > b {
			return a
		}
		return b
	case opMin:
		if a != a || a < b {
			return a
		}
		return b
	case opGt:
		return b2f(a > b)
	case opGe:
		return b2f(a >= b)
	case opLt:
		return b2f(a < b)
	case opLe:
		return b2f(a <= b)
	case opEq:
		return b2f(a == b)
	}
	panic("tensor: unknown binary op")
}

const parallelGrain = 1 << 15

func binary(op binOp, a, b *Tensor) *Tensor {
	out := newDirty(binNames[op], broadcastShapes(binNames[op], a.shape, b.shape))
	binaryInto(op, out, a, b)
	return out
}

func binaryInto(op binOp, out, a, b *Tensor) {
	shape := broadcastShapes(binNames[op], a.shape, b.shape)
	if !slices.Equal(shape, out.shape) {
		panic(fmt.Sprintf("tensor: %sInto: destination shape %v, want %v", binNames[op], out.shape, shape))
	}
	if len(out.data) == 0 {
		return
	}
	p := newPlan(out.shape, a.shape, b.shape)
	last := len(p.dims) - 1
	sa, sb := p.strides[0][last], p.strides[1][last]
	if len(p.dims) == 1 {
		kernels.ParallelFor(p.inner, parallelGrain, func(lo, hi int) {
			binRun(op, out.data[lo:hi], a.data[lo*sa:], sa, b.data[lo*sb:], sb)
		})
		return
	}
	p.each(func(o int, offs []int) {
		binRun(op, out.data[o:o+p.inner], a.data[offs[0]:], sa, b.data[offs[1]:], sb)
	})
}

// Add returns a + b, broadcasting. It panics if the shapes do not broadcast.
func Add(a, b *Tensor) *Tensor { return binary(opAdd, a, b) }

// Sub returns a - b, broadcasting. It panics if the shapes do not broadcast.
func Sub(a, b *Tensor) *Tensor { return binary(opSub, a, b) }

// Mul returns a * b elementwise, broadcasting. It panics if the shapes do not
// broadcast.
func Mul(a, b *Tensor) *Tensor { return binary(opMul, a, b) }

// Div returns a / b elementwise, broadcasting. It panics if the shapes do not
// broadcast.
func Div(a, b *Tensor) *Tensor { return binary(opDiv, a, b) }

// Maximum returns the elementwise maximum of a and b (NaN wins), broadcasting.
// It panics if the shapes do not broadcast.
func Maximum(a, b *Tensor) *Tensor { return binary(opMax, a, b) }

// Minimum returns the elementwise minimum of a and b (NaN wins), broadcasting.
// It panics if the shapes do not broadcast.
func Minimum(a, b *Tensor) *Tensor { return binary(opMin, a, b) }

// Gt returns 1 where a > b and 0 elsewhere, broadcasting.
// It panics if the shapes do not broadcast.
func Gt(a, b *Tensor) *Tensor { return binary(opGt, a, b) }

// Ge returns 1 where a >= b and 0 elsewhere, broadcasting.
// It panics if the shapes do not broadcast.
func Ge(a, b *Tensor) *Tensor { return binary(opGe, a, b) }

// Lt returns 1 where a < b and 0 elsewhere, broadcasting.
// It panics if the shapes do not broadcast.
func Lt(a, b *Tensor) *Tensor { return binary(opLt, a, b) }

// Le returns 1 where a <= b and 0 elsewhere, broadcasting.
// It panics if the shapes do not broadcast.
func Le(a, b *Tensor) *Tensor { return binary(opLe, a, b) }

// Eq returns 1 where a == b and 0 elsewhere, broadcasting.
// It panics if the shapes do not broadcast.
func Eq(a, b *Tensor) *Tensor { return binary(opEq, a, b) }

// AddInto stores a + b in dst. It panics if dst's shape is not the broadcast
// shape of a and b.
func AddInto(dst, a, b *Tensor) { binaryInto(opAdd, dst, a, b) }

// MulInto stores a * b in dst. It panics if dst's shape is not the broadcast
// shape of a and b.
func MulInto(dst, a, b *Tensor) { binaryInto(opMul, dst, a, b) }

// Where returns, elementwise, a where cond is non-zero and b elsewhere, with
// all three broadcast together.
//
// It panics if the shapes do not broadcast.
func Where(cond, a, b *Tensor) *Tensor {
	shape := broadcastShapes("Where", broadcastShapes("Where", cond.shape, a.shape), b.shape)
	out := newDirty("Where", shape)
	if len(out.data) == 0 {
		return out
	}
	p := newPlan(shape, cond.shape, a.shape, b.shape)
	last := len(p.dims) - 1
	sc, sa, sb := p.strides[0][last], p.strides[1][last], p.strides[2][last]
	p.each(func(o int, offs []int) {
		dst := out.data[o : o+p.inner]
		for i := range dst {
			if cond.data[offs[0]+i*sc] != 0 {
				dst[i] = a.data[offs[1]+i*sa]
			} else {
				dst[i] = b.data[offs[2]+i*sb]
			}
		}
	})
	return out
}

// unary applies f to every element, in parallel for large tensors.
func unary(a *Tensor, f func(dst, src []float32)) *Tensor {
	out := &Tensor{shape: slices.Clone(a.shape), data: bufpool.Get(len(a.data))}
	kernels.ParallelFor(len(a.data), parallelGrain, func(lo, hi int) {
		f(out.data[lo:hi], a.data[lo:hi])
	})
	return out
}

func mapf(a *Tensor, f func(float64) float64) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = float32(f(float64(v)))
		}
	})
}

// Neg returns -a.
func Neg(a *Tensor) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = -v
		}
	})
}

// Scale returns s*a.
func Scale(a *Tensor, s float32) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = s * v
		}
	})
}

// AddScalar returns a + s.
func AddScalar(a *Tensor, s float32) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = v + s
		}
	})
}

// Square returns a*a.
func Square(a *Tensor) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = v * v
		}
	})
}

// Exp returns e**a elementwise.
func Exp(a *Tensor) *Tensor { return mapf(a, math.Exp) }

// Log returns the natural logarithm elementwise.
func Log(a *Tensor) *Tensor { return mapf(a, math.Log) }

// Sqrt returns the square root elementwise.
func Sqrt(a *Tensor) *Tensor { return mapf(a, math.Sqrt) }

// Rsqrt returns 1/sqrt(a) elementwise.
func Rsqrt(a *Tensor) *Tensor { return mapf(a, func(x float64) float64 { return 1 / math.Sqrt(x) }) }

// Pow returns a**p elementwise. The exponents 1, 2, 0.5 and -0.5 take the
// faster paths of Clone, Square, Sqrt and Rsqrt.
func Pow(a *Tensor, p float32) *Tensor {
	switch p {
	case 1:
		return a.Clone()
	case 2:
		return Square(a)
	case 0.5:
		return Sqrt(a)
	case -0.5:
		return Rsqrt(a)
	}
	return mapf(a, func(x float64) float64 { return math.Pow(x, float64(p)) })
}

// Abs returns |a| elementwise.
func Abs(a *Tensor) *Tensor { return mapf(a, math.Abs) }

// Sign returns -1, 0 or 1 by the sign of each element (NaN stays NaN).
func Sign(a *Tensor) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			switch {
			case v > 0:
				dst[i] = 1
			case v < 0:
				dst[i] = -1
			default:
				dst[i] = v // 0, -0 or NaN
			}
		}
	})
}

// Tanh returns the hyperbolic tangent elementwise.
func Tanh(a *Tensor) *Tensor { return mapf(a, math.Tanh) }

// Sigmoid returns 1/(1+e**-a) elementwise, computed without overflow.
func Sigmoid(a *Tensor) *Tensor {
	return mapf(a, func(x float64) float64 {
		if x >= 0 {
			return 1 / (1 + math.Exp(-x))
		}
		e := math.Exp(x)
		return e / (1 + e)
	})
}

// The loops below that depend on the sign of an element select without
// branching (the builtin max, or an index into a table of two factors): on
// activations, whose signs are random, a branch is mispredicted half the
// time, which made them 5-9x slower.

// ReLU returns max(a, 0) elementwise (NaN stays NaN).
func ReLU(a *Tensor) *Tensor {
	return unary(a, func(dst, src []float32) {
		dst = dst[:len(src)]
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	})
}

// LeakyReLU returns a where a > 0 and slope*a elsewhere.
func LeakyReLU(a *Tensor, slope float32) *Tensor {
	f := [2]float32{1, slope}
	return unary(a, func(dst, src []float32) {
		dst = dst[:len(src)]
		for i, v := range src {
			k := 0
			if v < 0 {
				k = 1
			}
			dst[i] = v * f[k]
		}
	})
}

// Step returns 1 where a > 0 and 0 elsewhere: the derivative of ReLU.
func Step(a *Tensor) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = b2f(v > 0)
		}
	})
}

// Apply returns f applied to every element. f must be safe for concurrent
// use: large tensors are split across goroutines.
func Apply(a *Tensor, f func(float32) float32) *Tensor {
	return unary(a, func(dst, src []float32) {
		for i, v := range src {
			dst[i] = f(v)
		}
	})
}

// LeakyReLUGrad returns g where x > 0 and slope*g elsewhere: the gradient
// of LeakyReLU (of ReLU when slope is 0) at x, in one pass.
//
// It panics if g and x differ in shape.
func LeakyReLUGrad(g, x *Tensor, slope float32) *Tensor {
	mustSameShape("LeakyReLUGrad", g, x)
	out := &Tensor{shape: slices.Clone(g.shape), data: bufpool.Get(len(g.data))}
	f := [2]float32{slope, 1}
	kernels.ParallelFor(len(g.data), parallelGrain, func(lo, hi int) {
		dst, gs, xs := out.data[lo:hi], g.data[lo:hi], x.data[lo:hi]
		for i, v := range xs {
			k := 0
			if v > 0 {
				k = 1
			}
			dst[i] = f[k] * gs[i]
		}
	})
	return out
}
