package autograd

// Op names a primitive operation of the graph: what Var.Op reports. Every
// primitive is a typed value (its attributes as fields) whose method in
// rules.go is its backward rule, so a misspelt operation or a wrong
// attribute fails to compile instead of failing at backward time.
type Op uint8

// The primitive operations. Composite operations (Square, Neg, Rsqrt, Abs,
// Softplus, Variance, ...) are built from these and have no Op of their
// own.
const (
	OpNone Op = iota // a leaf or a constant
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpMulAdd
	OpScale
	OpAddScalar
	OpExp
	OpLog
	OpSqrt
	OpPow
	OpTanh
	OpSigmoid
	OpReLU
	OpLeakyReLU
	OpLeakyReLUGrad
	OpStandardize
	OpSum
	OpMean
	OpMax
	OpReshape
	OpPermute
	OpBroadcastTo
	OpSumTo
	OpSlice
	OpPad
	OpConcat
	OpIndexSelect
	OpIndexAdd
	OpWhere
	OpMatMul
	OpConv2d
	OpConv2dInputGrad
	OpConv2dWeightGrad
	OpUpsampleNearest
	OpAvgPool2d
	OpAvgPool2dGrad
	OpMaxPool2d
	OpScatterAddPlanes
	OpGatherPlanes
	numOps
)

var opNames = [numOps]string{
	OpNone: "none", OpAdd: "Add", OpSub: "Sub", OpMul: "Mul", OpDiv: "Div", OpMulAdd: "MulAdd",
	OpScale: "Scale", OpAddScalar: "AddScalar", OpExp: "Exp", OpLog: "Log", OpSqrt: "Sqrt",
	OpPow: "Pow", OpTanh: "Tanh", OpSigmoid: "Sigmoid", OpReLU: "ReLU", OpLeakyReLU: "LeakyReLU",
	OpLeakyReLUGrad: "LeakyReLUGrad", OpStandardize: "Standardize", OpSum: "Sum", OpMean: "Mean",
	OpMax: "Max", OpReshape: "Reshape", OpPermute: "Permute", OpBroadcastTo: "BroadcastTo",
	OpSumTo: "SumTo", OpSlice: "Slice", OpPad: "Pad", OpConcat: "Concat",
	OpIndexSelect: "IndexSelect", OpIndexAdd: "IndexAdd", OpWhere: "Where", OpMatMul: "MatMul",
	OpConv2d: "Conv2d", OpConv2dInputGrad: "Conv2dInputGrad", OpConv2dWeightGrad: "Conv2dWeightGrad",
	OpUpsampleNearest: "UpsampleNearest", OpAvgPool2d: "AvgPool2d", OpAvgPool2dGrad: "AvgPool2dGrad",
	OpMaxPool2d: "MaxPool2d", OpScatterAddPlanes: "ScatterAddPlanes", OpGatherPlanes: "GatherPlanes",
}

// String returns the name of the function that records o ("Conv2d").
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "Op(?)"
}

// primitive is a recorded operation with its attributes. backward returns
// the gradients of the node's inputs given the gradient g of its output;
// need[i] says whether input i wants one, and a rule may return nil for
// inputs that do not. A gradient may be returned in the broadcast shape of
// the output: backprop sums it down to its input's shape (one place for
// every broadcasting op). Every rule is written with the differentiable
// operations of this package, so the gradients it builds can be
// differentiated again. create is false when the caller will use only the
// values (a first-order Backward or Grad): a rule may then compute the same
// values with a fused kernel instead.
type primitive interface {
	op() Op
	backward(n *node, g *Var, need []bool, create bool) []*Var
}
