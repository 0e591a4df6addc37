package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/tensor"
)

// StateVersion is the version of the State layout written by State.
const StateVersion = 1

// State is an optimizer's state keyed by parameter name, never by position,
// so it can be restored into an optimizer built over the same names in
// another process, whatever order the parameters come in.
//
// A checkpoint stores Tensors as named tensors and the rest (Version,
// Optimizer, Steps) as JSON: encoding/json marshals a State to exactly those
// fields. Hyper-parameters and learning rates are configuration, not state:
// the program that resumes builds the optimizer with them again (and sets
// the schedule's step with Scheduler.SetStep).
type State struct {
	// Version is StateVersion.
	Version int `json:"version"`
	// Optimizer names the algorithm: "Adam", "AdamW", "SGD" or "RMSprop".
	Optimizer string `json:"optimizer"`
	// Steps holds, for every parameter of the optimizer, the number of
	// updates applied to it since its state was last cleared; 0 for a
	// parameter never updated (frozen, or without a gradient so far).
	Steps map[string]int `json:"steps"`
	// Tensors holds the per-element state of every parameter whose step
	// count is positive, named "<buffer>.<parameter name>" with PyTorch's
	// buffer names: "exp_avg.g.fc.weight", "momentum_buffer.fc.bias".
	Tensors map[string]*tensor.Tensor `json:"-"`
}

// StateError reports why LoadState refused a state. Every list is sorted.
type StateError struct {
	// Optimizer is the name of the optimizer that refused the state.
	Optimizer string
	// Problems that are not about one name: wrong version or algorithm.
	Problems []string
	// Missing lists the parameter names (in Steps) and state tensor names
	// (in Tensors) the optimizer needs but the state lacks.
	Missing []string
	// Unexpected lists the names in Steps or Tensors that match none of
	// the optimizer's parameters or buffers.
	Unexpected []string
	// Mismatched describes entries present on both sides that disagree,
	// such as a tensor whose shape differs from its parameter's.
	Mismatched []string
}

func (e *StateError) empty() bool {
	return len(e.Problems)+len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) == 0
}

// Error lists every problem found.
func (e *StateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "optim: %s: LoadState:", e.Optimizer)
	sep := " "
	for _, p := range e.Problems {
		b.WriteString(sep + p)
		sep = "; "
	}
	list := func(what string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(&b, "%s%d %s: %s", sep, len(names), what, strings.Join(names, ", "))
			sep = "; "
		}
	}
	list("missing", e.Missing)
	list("unexpected", e.Unexpected)
	list("mismatched", e.Mismatched)
	return b.String()
}

// MaxSteps is the largest step count LoadState accepts, 2^31-1: far beyond
// any training run, and far from the counts where adding one wraps around
// or a float64 no longer tells them apart.
const MaxSteps = 1<<31 - 1

// secondMoments names the state tensors that are running averages of
// squares, which cannot be negative.
var secondMoments = map[string]bool{"exp_avg_sq": true, "max_exp_avg_sq": true, "square_avg": true}

// badValue describes the first value of x that is NaN or infinite, or
// negative when nonNeg, or returns "".
func badValue(x []float32, nonNeg bool) string {
	for i, v := range x {
		switch {
		case math.IsNaN(float64(v)) || math.IsInf(float64(v), 0):
			return fmt.Sprintf("element %d is %v", i, v)
		case nonNeg && v < 0:
			return fmt.Sprintf("element %d is %v, but a running average of squares cannot be negative", i, v)
		}
	}
	return ""
}

// ErrNilState is returned (wrapped) by LoadState given a nil State.
var ErrNilState = errors.New("optim: LoadState: nil state")

// State returns a copy of the optimizer's state, keyed by parameter name.
// The tensors are clones: later steps do not change them.
func (c *core[C]) State() *State {
	st := &State{
		Version:   StateVersion,
		Optimizer: c.k.name,
		Steps:     make(map[string]int, len(c.byName)),
		Tensors:   map[string]*tensor.Tensor{},
	}
	for name, s := range c.byName {
		st.Steps[name] = s.step
		if s.step == 0 {
			continue
		}
		cfg := &c.groups[s.group].cfg
		for i, b := range s.bufs[:len(c.k.bufNames)] {
			if b != nil && c.k.needs(cfg, i) {
				st.Tensors[c.k.bufNames[i]+"."+name] = b.Clone()
			}
		}
	}
	return st
}

// LoadState replaces the optimizer's state with st, copying its tensors.
// The state must cover exactly the optimizer's parameters: every parameter
// name must be in st.Steps, and every parameter with a positive step count
// must have exactly the state tensors its group's hyper-parameters use, each
// shaped as the parameter and holding finite values (not negative for the
// averages of squares); step counts lie in [0, MaxSteps]. Otherwise
// LoadState returns a *StateError listing every missing, unexpected and
// mismatched name, and changes nothing.
func (c *core[C]) LoadState(st *State) error {
	if st == nil {
		return fmt.Errorf("%w (%s)", ErrNilState, c.k.name)
	}
	e := &StateError{Optimizer: c.k.name}
	if st.Version != StateVersion {
		e.Problems = append(e.Problems, fmt.Sprintf("state version %d, want %d", st.Version, StateVersion))
	}
	if st.Optimizer != c.k.name {
		e.Problems = append(e.Problems, fmt.Sprintf("state of optimizer %q, want %q", st.Optimizer, c.k.name))
	}
	for name, n := range st.Steps {
		s := c.byName[name]
		switch {
		case s == nil:
			e.Unexpected = append(e.Unexpected, name)
		case n < 0:
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: negative step count %d", name, n))
		case n > MaxSteps:
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: step count %d is over MaxSteps (%d)", name, n, MaxSteps))
		}
	}
	// found[name] flags the buffers of a parameter present in st.Tensors.
	found := map[string]*[maxBufs]bool{}
	for key, t := range st.Tensors {
		buf, name, ok := c.splitKey(key)
		if !ok {
			e.Unexpected = append(e.Unexpected, key)
			continue
		}
		s := c.byName[name]
		n, stepped := st.Steps[name]
		switch {
		case !stepped || n <= 0:
			// A tensor for a parameter the state says was never updated.
			e.Unexpected = append(e.Unexpected, key)
			continue
		case !c.k.needs(&c.groups[s.group].cfg, buf):
			e.Unexpected = append(e.Unexpected, key)
			continue
		case t == nil:
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: nil tensor", key))
		case !t.SameShape(s.p.Value):
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: shape %v, want %v", key, t.Shape(), s.p.Value.Shape()))
		default:
			if bad := badValue(t.Data(), secondMoments[c.k.bufNames[buf]]); bad != "" {
				e.Mismatched = append(e.Mismatched, key+": "+bad)
			}
		}
		if found[name] == nil {
			found[name] = new([maxBufs]bool)
		}
		found[name][buf] = true
	}
	for _, name := range c.sortedNames() {
		n, ok := st.Steps[name]
		if !ok {
			e.Missing = append(e.Missing, name)
			continue
		}
		if n <= 0 {
			continue
		}
		s := c.byName[name]
		for i := range c.k.bufNames {
			if c.k.needs(&c.groups[s.group].cfg, i) && (found[name] == nil || !found[name][i]) {
				e.Missing = append(e.Missing, c.k.bufNames[i]+"."+name)
			}
		}
	}
	if !e.empty() {
		slices.Sort(e.Missing)
		slices.Sort(e.Unexpected)
		slices.Sort(e.Mismatched)
		return e
	}
	for name, s := range c.byName {
		s.clear()
		s.step = st.Steps[name]
		if s.step == 0 {
			continue
		}
		for i, bn := range c.k.bufNames {
			if t := st.Tensors[bn+"."+name]; t != nil {
				s.bufs[i] = t.Clone()
			}
		}
	}
	return nil
}

// splitKey splits a state tensor name into its buffer index and parameter
// name, reporting whether both are known.
func (c *core[C]) splitKey(key string) (buf int, name string, ok bool) {
	bn, name, ok := strings.Cut(key, ".")
	if !ok {
		return 0, "", false
	}
	buf = slices.Index(c.k.bufNames, bn)
	if buf < 0 || c.byName[name] == nil {
		return 0, "", false
	}
	return buf, name, true
}
