package nn

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/gantry-go/gantry/tensor"
)

// State maps dotted names to tensors: a module's parameters and buffers, or
// the content of a checkpoint file.
type State map[string]*tensor.Tensor

// StateDict returns the parameters and buffers of m by name. The tensors are
// m's own storage, not copies: they change as m trains. Use Clone for a
// snapshot.
//
// It panics if two members of m share a name.
func StateDict(m any) State {
	sd := State{}
	walk("", reflect.ValueOf(m), false, func(name string, kind memberKind, v any) bool {
		if kind == moduleMember {
			return true
		}
		if _, dup := sd[name]; dup {
			panic(fmt.Sprintf("nn: StateDict: two members of %T are both named %q", m, name))
		}
		switch v := v.(type) {
		case *Param:
			sd[name] = v.Value
		case *Buffer:
			sd[name] = v.Value
		}
		return true
	})
	return sd
}

// Keys returns the names in sorted order.
func (s State) Keys() []string { return slices.Sorted(maps.Keys(s)) }

// Clone returns a deep copy.
func (s State) Clone() State {
	out := make(State, len(s))
	for k, t := range s {
		if t != nil {
			t = t.Clone()
		}
		out[k] = t
	}
	return out
}

// WithPrefix returns the entries whose names start with prefix, with the
// prefix removed: State{"d.fc.weight": w}.WithPrefix("d.") is
// State{"fc.weight": w}. The tensors are shared.
func (s State) WithPrefix(prefix string) State {
	out := State{}
	for k, t := range s {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = t
		}
	}
	return out
}

// WithoutPrefix returns the entries whose names do not start with prefix.
// The tensors are shared.
func (s State) WithoutPrefix(prefix string) State {
	out := State{}
	for k, t := range s {
		if !strings.HasPrefix(k, prefix) {
			out[k] = t
		}
	}
	return out
}

// AddPrefix returns the entries with prefix put before every name. The
// tensors are shared.
func (s State) AddPrefix(prefix string) State {
	out := make(State, len(s))
	for k, t := range s {
		out[prefix+k] = t
	}
	return out
}

// LoadOptions says how LoadStateDict matches names. The zero value is a
// strict load of every entry.
type LoadOptions struct {
	// Prefix limits the load to names that start with it, on both sides:
	// the module's entries outside it are neither loaded nor reported
	// missing, and the state's entries outside it are ignored. With
	// Prefix "d." a full GAN checkpoint loads into the critic of a full
	// GAN model only.
	Prefix string
	// AllowMissing accepts module entries that the state lacks; they keep
	// their values.
	AllowMissing bool
	// AllowUnexpected accepts state entries that the module lacks; they are
	// ignored.
	AllowUnexpected bool
}

// ShapeMismatch is one entry whose shape in the state differs from the
// module's (Got is nil for a nil tensor).
type ShapeMismatch struct {
	Key       string
	Want, Got []int
}

// LoadError reports every problem of a LoadStateDict at once.
type LoadError struct {
	Missing    []string        // in the module, not in the state (sorted)
	Unexpected []string        // in the state, not in the module (sorted)
	Mismatched []ShapeMismatch // in both, with different shapes (sorted by key)
}

func (e *LoadError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("%d missing (%s)", len(e.Missing), strings.Join(e.Missing, ", ")))
	}
	if len(e.Unexpected) > 0 {
		parts = append(parts, fmt.Sprintf("%d unexpected (%s)", len(e.Unexpected), strings.Join(e.Unexpected, ", ")))
	}
	if len(e.Mismatched) > 0 {
		var ms []string
		for _, m := range e.Mismatched {
			if m.Got == nil {
				ms = append(ms, fmt.Sprintf("%s: nil tensor, module has %v", m.Key, m.Want))
			} else {
				ms = append(ms, fmt.Sprintf("%s: state %v, module %v", m.Key, m.Got, m.Want))
			}
		}
		parts = append(parts, fmt.Sprintf("%d shape mismatches (%s)", len(e.Mismatched), strings.Join(ms, "; ")))
	}
	return "nn: LoadStateDict: " + strings.Join(parts, "; ")
}

// LoadStateDict copies the tensors of sd into the parameters and buffers of
// m with the same names, as options say (see LoadOptions). Values are copied
// into m's existing storage, so anything holding m's tensors (an optimizer)
// sees the new values. Nothing is loaded unless everything can be: on error
// m is unchanged, and the *LoadError lists every missing key, unexpected key
// and shape mismatch together.
//
// It panics if two members of m share a name.
func LoadStateDict(m any, sd State, opts LoadOptions) error {
	own := StateDict(m)
	e := &LoadError{}
	type pair struct{ dst, src *tensor.Tensor }
	var todo []pair
	for _, k := range own.Keys() {
		if !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		src, ok := sd[k]
		switch {
		case !ok:
			if !opts.AllowMissing {
				e.Missing = append(e.Missing, k)
			}
		case src == nil:
			e.Mismatched = append(e.Mismatched, ShapeMismatch{Key: k, Want: own[k].Shape()})
		case !src.SameShape(own[k]):
			e.Mismatched = append(e.Mismatched, ShapeMismatch{Key: k, Want: own[k].Shape(), Got: src.Shape()})
		default:
			todo = append(todo, pair{own[k], src})
		}
	}
	if !opts.AllowUnexpected {
		for _, k := range sd.Keys() {
			if _, ok := own[k]; !ok && strings.HasPrefix(k, opts.Prefix) {
				e.Unexpected = append(e.Unexpected, k)
			}
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) > 0 {
		return e
	}
	// A source that shares storage with another destination (sd taken
	// from m with names swapped, say) would be overwritten before it is
	// read: such sources are copied first.
	dsts := make([]*tensor.Tensor, len(todo))
	for i, p := range todo {
		dsts[i] = p.dst
	}
	for i, p := range todo {
		if p.dst != p.src && overlapsAny(p.src, dsts) {
			todo[i].src = p.src.Clone()
		}
	}
	for _, p := range todo {
		if p.dst != p.src {
			p.dst.CopyFrom(p.src)
		}
	}
	return nil
}

// overlapsAny reports whether t's storage overlaps that of one of ts.
func overlapsAny(t *tensor.Tensor, ts []*tensor.Tensor) bool {
	lo, hi := span(t)
	for _, u := range ts {
		if l, h := span(u); lo < h && l < hi {
			return true
		}
	}
	return false
}

// span returns the addresses of the first byte of t's values and of the
// byte after the last (equal for an empty tensor).
func span(t *tensor.Tensor) (lo, hi uintptr) {
	d := t.Data()
	lo = uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	return lo, lo + uintptr(len(d))*unsafe.Sizeof(float32(0))
}
