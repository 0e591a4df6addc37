package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// Linear is a fully connected layer, y = x·Wᵀ + b, with PyTorch's layout:
// Weight is [out, in] and Bias [out] (nil when the layer has none).
type Linear struct {
	Weight *Param `nn:"weight"`
	Bias   *Param `nn:"bias"`
}

// NewLinear returns a linear layer from in to out features, with a bias if
// bias is true, initialised as torch.nn.Linear (see TorchDefault). A nil r
// leaves the weights zero, for a layer that is about to be loaded.
//
// It panics if in or out is not positive.
func NewLinear(in, out int, bias bool, r *rand.Rand) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: NewLinear: sizes in=%d, out=%d must be positive", in, out))
	}
	l := &Linear{Weight: NewParam(tensor.New(out, in))}
	var b *tensor.Tensor
	if bias {
		l.Bias = NewParam(tensor.New(out))
		b = l.Bias.Value
	}
	if r != nil {
		TorchDefault(l.Weight.Value, b, r)
	}
	return l
}

// Forward returns x·Wᵀ + b for x of shape [..., in], of shape [..., out].
//
// It panics if x's last dimension is not in.
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	in := l.Weight.Value.Dim(1)
	if x.Value.Dims() < 1 || x.Value.Dim(-1) != in {
		panic(fmt.Sprintf("nn: Linear: input %v, weight %v: want input [..., %d]", x.Value.Shape(), l.Weight.Value.Shape(), in))
	}
	x2 := x
	if x.Value.Dims() == 1 {
		x2 = autograd.Reshape(x, 1, in)
	}
	y := autograd.MatMulT(x2, l.Weight.Var, false, true)
	if l.Bias != nil {
		y = autograd.Add(y, l.Bias.Var)
	}
	if x.Value.Dims() == 1 {
		y = autograd.Reshape(y, -1)
	}
	return y
}

// Embedding is a lookup table of Weight's rows: [num, dim].
type Embedding struct {
	Weight *Param `nn:"weight"`
}

// NewEmbedding returns a table of num vectors of size dim drawn from
// N(0, 1), as torch.nn.Embedding. A nil r leaves it zero.
//
// It panics if num or dim is not positive.
func NewEmbedding(num, dim int, r *rand.Rand) *Embedding {
	if num <= 0 || dim <= 0 {
		panic(fmt.Sprintf("nn: NewEmbedding: sizes num=%d, dim=%d must be positive", num, dim))
	}
	e := &Embedding{Weight: NewParam(tensor.New(num, dim))}
	if r != nil {
		Normal(e.Weight.Value, 0, 1, r)
	}
	return e
}

// Forward returns the rows of the table at idx, of shape [len(idx), dim].
// Gradients add up in the rows that were selected.
//
// It panics if an index is out of range.
func (e *Embedding) Forward(idx []int) *autograd.Var {
	n := e.Weight.Value.Dim(0)
	for _, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("nn: Embedding: index %d out of range for table %v", i, e.Weight.Value.Shape()))
		}
	}
	return autograd.IndexSelect(e.Weight.Var, 0, idx)
}
