package nn

import (
	"fmt"
	"reflect"
	"strconv"
	"sync"
)

// memberKind says what walk found.
type memberKind int

const (
	moduleMember memberKind = iota // a sub-module (or the root)
	paramMember                    // a *Param
	bufferMember                   // a *Buffer
)

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

// walk is the one traversal behind Parameters, Buffers, Modules and
// StateDict. It calls fn with every module, *Param and *Buffer in v, depth
// first in field order, and returns false when fn asked to stop. merged says
// v's members share its parent's names and v is not a module of its own (it
// is embedded, or was already reported through the pointer that reached it).
//
// It panics if an unexported field holds parameters or buffers.
func walk(path string, v reflect.Value, merged bool, fn func(string, memberKind, any) bool) bool {
	if !v.IsValid() {
		return true
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return true
		}
	}
	switch v.Type() {
	case paramType:
		return fn(path, paramMember, v.Interface())
	case bufferType:
		return fn(path, bufferMember, v.Interface())
	}
	if v.Type().Implements(listerType) {
		if !merged && !fn(path, moduleMember, v.Interface()) {
			return false
		}
		for name, sub := range v.Interface().(Lister).Members() {
			if !walk(join(path, name), reflect.ValueOf(sub), false, fn) {
				return false
			}
		}
		return true
	}
	switch v.Kind() {
	case reflect.Interface:
		return walk(path, v.Elem(), merged, fn)
	case reflect.Pointer:
		if v.Elem().Kind() != reflect.Struct {
			return walk(path, v.Elem(), merged, fn)
		}
		if !merged && !fn(path, moduleMember, v.Interface()) {
			return false
		}
		return walk(path, v.Elem(), true, fn)
	case reflect.Struct:
		if !merged {
			m := v.Interface()
			if v.CanAddr() {
				m = v.Addr().Interface()
			}
			if !fn(path, moduleMember, m) {
				return false
			}
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, skip := fieldName(f)
			if skip {
				continue
			}
			if !f.IsExported() && !promotes(f) {
				checkUnexported(t, f, v.Field(i))
				continue
			}
			p := path
			if name != "" {
				p = join(path, name)
			}
			if !walk(p, v.Field(i), f.Anonymous && name == "", fn) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !walk(join(path, strconv.Itoa(i)), v.Index(i), false, fn) {
				return false
			}
		}
	}
	return true
}

// fieldName returns the member name of a struct field, "" when the field
// shares its parent's namespace (embedded fields and `nn:""`), and whether
// the field is skipped (`nn:"-"`).
func fieldName(f reflect.StructField) (name string, skip bool) {
	name = f.Name
	if tag, ok := f.Tag.Lookup("nn"); ok {
		if tag == "-" {
			return "", true
		}
		name = tag
	} else if f.Anonymous {
		name = ""
	}
	return name, false
}

// promotes reports whether f is an embedded struct, or pointer to one,
// whose exported fields Go promotes to the parent even when the embedded
// type itself is unexported: the walk merges those, as encoding/json does.
// An unexported embedded Lister is not one: its methods cannot be called
// through reflection.
func promotes(f reflect.StructField) bool {
	t := f.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return f.Anonymous && t.Kind() == reflect.Struct && !f.Type.Implements(listerType)
}

// checkUnexported panics if the unexported field f of owner, holding fv,
// holds parameters or buffers: the walk cannot reach it, and training or a
// state dict would silently leave it out (PyTorch's trap of a plain list of
// layers). An interface field is judged by the value it holds.
func checkUnexported(owner reflect.Type, f reflect.StructField, fv reflect.Value) {
	t := f.Type
	if t.Kind() == reflect.Interface {
		if fv.IsNil() {
			return
		}
		t = fv.Elem().Type()
	}
	if holdsState(t) {
		panic(fmt.Sprintf("nn: field %s of %v is unexported but holds parameters or buffers (%v), so Parameters and StateDict cannot reach it; export it, or tag it `nn:\"-\"` to leave it out on purpose",
			f.Name, owner, t))
	}
}

// stateTypes caches holdsState by type.
var stateTypes sync.Map // reflect.Type -> bool

// holdsState reports whether a value of type t can hold a *Param, a
// *Buffer or a Lister, judging by its type alone (interfaces inside it
// count as empty).
func holdsState(t reflect.Type) bool {
	if v, ok := stateTypes.Load(t); ok {
		return v.(bool)
	}
	stateTypes.Store(t, false) // a type that contains itself is judged by its other parts
	r := false
	switch {
	case t == paramType || t == bufferType || t.Implements(listerType) || reflect.PointerTo(t).Implements(listerType):
		r = true
	default:
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			r = holdsState(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if holdsState(t.Field(i).Type) {
					r = true
					break
				}
			}
		}
	}
	stateTypes.Store(t, r)
	return r
}
