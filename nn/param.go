package nn

import (
	"iter"
	"reflect"
	"strconv"

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
	T *tensor.Tensor
}

// NewBuffer returns a buffer holding t.
func NewBuffer(t *tensor.Tensor) *Buffer { return &Buffer{T: t} }

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
func Parameters(m any) iter.Seq2[string, *Param] {
	return func(yield func(string, *Param) bool) {
		walk("", reflect.ValueOf(m), func(name string, v any) bool {
			if p, ok := v.(*Param); ok {
				return yield(name, p)
			}
			return true
		})
	}
}

// Buffers yields the dotted names and buffers of module m, walked as
// Parameters walks parameters.
func Buffers(m any) iter.Seq2[string, *Buffer] {
	return func(yield func(string, *Buffer) bool) {
		walk("", reflect.ValueOf(m), func(name string, v any) bool {
			if b, ok := v.(*Buffer); ok {
				return yield(name, b)
			}
			return true
		})
	}
}

var (
	paramType  = reflect.TypeFor[*Param]()
	bufferType = reflect.TypeFor[*Buffer]()
	listerType = reflect.TypeFor[Lister]()
)

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// walk visits the members of v, calling fn with each *Param and *Buffer.
// It returns false when fn asked to stop.
func walk(prefix string, v reflect.Value, fn func(string, any) bool) bool {
	if !v.IsValid() {
		return true
	}
	switch v.Type() {
	case paramType, bufferType:
		if v.IsNil() {
			return true
		}
		return fn(prefix, v.Interface())
	}
	if v.Type().Implements(listerType) && (v.Kind() != reflect.Pointer || !v.IsNil()) {
		for name, m := range v.Interface().(Lister).Members() {
			if !walk(join(prefix, name), reflect.ValueOf(m), fn) {
				return false
			}
		}
		return true
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
		return walk(prefix, v.Elem(), fn)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, skip := fieldName(f)
			if skip {
				continue
			}
			p := prefix
			if name != "" {
				p = join(prefix, name)
			}
			if !walk(p, v.Field(i), fn) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !walk(join(prefix, strconv.Itoa(i)), v.Index(i), fn) {
				return false
			}
		}
	}
	return true
}

// ParamList returns the parameters of m as a slice, in walk order.
func ParamList(m any) []*Param {
	var ps []*Param
	for _, p := range Parameters(m) {
		ps = append(ps, p)
	}
	return ps
}
