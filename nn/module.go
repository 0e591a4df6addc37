package nn

import (
	"fmt"
	"iter"
	"reflect"

	"github.com/gantry-go/gantry/autograd"
)

// Module is a layer that maps one batch to another. Every layer in this
// package that takes a single tensor implements it; Sequential chains them.
type Module interface {
	Forward(x *autograd.Var) *autograd.Var
}

// Norm is a normalisation layer as the residual blocks use it: BatchNorm2d
// and LayerNorm ignore labels, CondBatchNorm2d needs them.
type Norm interface {
	Normalize(x *autograd.Var, labels []int) *autograd.Var
}

// NormFunc makes the normalisation layer for a given number of channels, so
// one block definition serves both the generator (batch norm) and the critic
// (layer norm). A nil NormFunc means no normalisation.
type NormFunc func(channels int) Norm

// TrainingMode is implemented by modules whose behaviour differs between
// training and evaluation (BatchNorm2d, CondBatchNorm2d).
type TrainingMode interface {
	SetTraining(on bool)
}

// SetTraining puts every module inside m (m included) that has a mode into
// training (on) or evaluation (!on) mode. Modules start in training mode.
func SetTraining(m any, on bool) {
	for _, sub := range Modules(m) {
		if md, ok := sub.(TrainingMode); ok {
			md.SetTraining(on)
		}
	}
}

// Modules yields m and every module inside it, depth first in field order,
// with its dotted name ("" for m itself). A module here is any struct
// reached by the walk Parameters makes (yielded as a pointer when it is
// addressable) or any Lister; an embedded struct is part of its parent, not
// a module of its own.
//
// It panics, as Parameters does, if an unexported field holds parameters or
// buffers.
func Modules(m any) iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		walk("", reflect.ValueOf(m), false, func(name string, kind memberKind, v any) bool {
			return kind != moduleMember || yield(name, v)
		})
	}
}

// Sequential applies its layers in order. Its members are named by index
// ("0.weight", "2.bias"), as torch.nn.Sequential names them.
type Sequential struct {
	Layers []Module `nn:""`
}

// NewSequential returns the chain of the given layers.
func NewSequential(layers ...Module) *Sequential { return &Sequential{Layers: layers} }

// Forward applies each layer to the previous one's output.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// ReLU is max(x, 0).
type ReLU struct{}

// Forward returns max(x, 0).
func (ReLU) Forward(x *autograd.Var) *autograd.Var { return autograd.ReLU(x) }

// LeakyReLU is x for x > 0 and Slope·x otherwise.
type LeakyReLU struct {
	Slope float32 `nn:"-"`
}

// Forward returns x where x > 0 and Slope·x elsewhere.
func (l LeakyReLU) Forward(x *autograd.Var) *autograd.Var { return autograd.LeakyReLU(x, l.Slope) }

// Tanh is the hyperbolic tangent.
type Tanh struct{}

// Forward returns tanh(x).
func (Tanh) Forward(x *autograd.Var) *autograd.Var { return autograd.Tanh(x) }

// Sigmoid is 1/(1+e^-x).
type Sigmoid struct{}

// Forward returns 1/(1+e^-x).
func (Sigmoid) Forward(x *autograd.Var) *autograd.Var { return autograd.Sigmoid(x) }

// Flatten reshapes [N, ...] to [N, prod(...)].
type Flatten struct{}

// Forward returns x reshaped to [N, -1].
//
// It panics if x has no dimensions.
func (Flatten) Forward(x *autograd.Var) *autograd.Var {
	if x.Value.Dims() == 0 {
		panic("nn: Flatten: input is a scalar, want [N, ...]")
	}
	return autograd.Reshape(x, x.Value.Dim(0), -1)
}

// Reshape reshapes [N, ...] to [N, Shape...], keeping the batch dimension;
// the generator uses it to turn its linear layer's output into feature maps.
type Reshape struct {
	Shape []int `nn:"-"`
}

// Forward returns x reshaped to [N, Shape...].
//
// It panics if the sizes do not agree.
func (r Reshape) Forward(x *autograd.Var) *autograd.Var {
	if x.Value.Dims() == 0 {
		panic("nn: Reshape: input is a scalar, want [N, ...]")
	}
	shape := append([]int{x.Value.Dim(0)}, r.Shape...)
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n != x.Value.Len() {
		panic(fmt.Sprintf("nn: Reshape: input %v does not fit [N]+%v", x.Value.Shape(), r.Shape))
	}
	return autograd.Reshape(x, shape...)
}
