package nn

import (
	"iter"
	"reflect"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// Param is a trained tensor of a module: an autograd leaf that requires
// gradients unless frozen. Its Value and Grad are the embedded Var's.
type Param struct {
	*autograd.Var
}

// NewParam returns a trainable parameter holding t.
func NewParam(t *tensor.Tensor) *Param { return &Param{autograd.Leaf(t)} }

// Freeze stops gradients from reaching p (requires-grad off) and drops its
// accumulated gradient.
func (p *Param) Freeze() { p.SetRequiresGrad(false); p.ZeroGrad() }

// Unfreeze lets gradients reach p again.
func (p *Param) Unfreeze() { p.SetRequiresGrad(true) }

// Frozen reports whether p is frozen.
func (p *Param) Frozen() bool { return !p.RequiresGrad() }

// Buffer is a tensor that belongs to a module's state but is not trained,
// such as BatchNorm's running statistics. It is saved in state dicts.
type Buffer struct {
	Value *tensor.Tensor
}

// NewBuffer returns a buffer holding t.
func NewBuffer(t *tensor.Tensor) *Buffer { return &Buffer{Value: t} }

// Lister is implemented by modules that list their own parameters and
// buffers instead of having their fields walked. Names are relative to the
// module; children are walked further by the caller when they are returned
// as modules.
type Lister interface {
	// Members yields the module's direct members by name: *Param, *Buffer,
	// or any value to walk as a sub-module.
	Members() iter.Seq2[string, any]
}

// Parameters yields the dotted names and parameters of module m, in field
// order, found by walking its exported fields: *Param fields, sub-modules
// (structs or pointers to structs), and slices or arrays of them (named by
// index). A field tag `nn:"name"` renames a field, `nn:"-"` skips it, and
// `nn:""` or embedding merges the field's members into the parent's names.
// Modules implementing Lister list their own members instead.
//
// It panics if an unexported field holds parameters or buffers (a *Param,
// a *Buffer, a Lister, or a struct, pointer, slice, array or map holding
// one): the walk cannot reach it, so it would be silently left out of
// training and of state dicts. Export the field, or tag it `nn:"-"` to say
// it is left out on purpose (a reference to a module owned elsewhere).
func Parameters(m any) iter.Seq2[string, *Param] {
	return func(yield func(string, *Param) bool) {
		walk("", reflect.ValueOf(m), false, func(name string, _ memberKind, v any) bool {
			p, ok := v.(*Param)
			return !ok || yield(name, p)
		})
	}
}

// Buffers yields the dotted names and buffers of module m, walked as
// Parameters walks parameters.
func Buffers(m any) iter.Seq2[string, *Buffer] {
	return func(yield func(string, *Buffer) bool) {
		walk("", reflect.ValueOf(m), false, func(name string, _ memberKind, v any) bool {
			b, ok := v.(*Buffer)
			return !ok || yield(name, b)
		})
	}
}

// ParamList returns the parameters of m as a slice, in walk order.
func ParamList(m any) []*Param {
	var ps []*Param
	for _, p := range Parameters(m) {
		ps = append(ps, p)
	}
	return ps
}
