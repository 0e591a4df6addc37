package optim

import (
	"fmt"
	"math"
	"slices"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// Optimizer updates parameters from their gradients.
//
// Step applies one update to every parameter that has a gradient and is not
// frozen; ZeroGrad zeroes the gradients in place for the next Backward.
// Parameters are organised in groups, each with its own learning rate and
// hyper-parameters; LR and SetLR address a group by its index, in the order
// the groups were added (0 is the group given to the constructor).
type Optimizer interface {
	// Step applies one update. It records no graph and, after the first
	// call for each parameter, allocates nothing.
	Step()
	// ZeroGrad sets every gradient of the optimizer's parameters to zero in
	// place, keeping its memory for the next Backward.
	ZeroGrad()
	// State returns a copy of the optimizer's state keyed by parameter name.
	State() *State
	// LoadState restores a state returned by State, possibly from another
	// process. On error nothing is changed.
	LoadState(st *State) error
	// Params returns the parameters of all groups, in group order. The
	// slice belongs to the optimizer and must not be modified.
	Params() []NamedParam
	// NumGroups returns the number of parameter groups.
	NumGroups() int
	// LR returns the learning rate of group i.
	LR(group int) float64
	// SetLR sets the learning rate of group i.
	SetLR(group int, lr float64)
	// Reset clears the state of the named parameters, or of all of them
	// when no name is given, so that their next update is a first step.
	Reset(names ...string)
}

var (
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*RMSprop)(nil)
)

// maxBufs is the largest number of state tensors an optimizer keeps per
// parameter.
const maxBufs = 3 // RMSprop's three; Adam's with AMSGrad

// slot is one parameter and its optimizer state.
type slot struct {
	name  string
	p     *nn.Param
	group int // index of the group holding the parameter
	// step counts the updates applied since the state was last cleared.
	step int
	// bufs are the per-element state tensors, indexed as the optimizer's
	// bufNames; nil until first needed.
	bufs [maxBufs]*tensor.Tensor
}

// buf returns state tensor i, allocating it zeroed on first use.
func (s *slot) buf(i int) []float32 {
	if s.bufs[i] == nil {
		s.bufs[i] = tensor.ZerosLike(s.p.Value)
	}
	return s.bufs[i].Data()
}

// clear forgets the state: the next update is a first step.
func (s *slot) clear() {
	s.step = 0
	s.bufs = [maxBufs]*tensor.Tensor{}
}

type group[C any] struct {
	cfg   C
	slots []*slot
}

// kind describes one optimizer algorithm to the shared machinery.
type kind[C any] struct {
	name string
	// bufNames name the state tensors, PyTorch style ("exp_avg").
	bufNames []string
	// lr points at the learning rate inside a configuration.
	lr func(c *C) *float64
	// check returns what is wrong with c, or "" if it is usable.
	check func(c *C) string
	// needs reports whether a parameter updated under c keeps buffer i.
	needs func(c *C, i int) bool
	// update applies one step to s, whose step count has already been
	// incremented, and whose Grad is non-nil and shaped as its Value.
	update func(c *C, s *slot)
}

// core is the machinery shared by every optimizer: groups, slots keyed by
// name, stepping, zeroing and state.
type core[C any] struct {
	k      *kind[C]
	groups []*group[C]
	byName map[string]*slot
	byPtr  map[*nn.Param]string
	params []NamedParam // all groups' parameters, in group order
}

func (c *core[C]) panicf(format string, args ...any) {
	panic(fmt.Sprintf("optim: "+c.k.name+": "+format, args...))
}

// AddGroup adds a parameter group with its own hyper-parameters and returns
// its index.
//
// It panics as the optimizer's constructor does (an invalid cfg, empty
// params, an empty or repeated name, a nil parameter or one given twice),
// and if a parameter or name is already in another group.
func (c *core[C]) AddGroup(params []NamedParam, cfg C) int {
	c.addGroup(params, cfg)
	return len(c.groups) - 1
}

// Config returns the hyper-parameters of group i, which may be changed
// between steps.
//
// It panics if i is out of range.
func (c *core[C]) Config(i int) *C { return &c.group(i, "Config").cfg }

// addGroup validates and adds a group.
func (c *core[C]) addGroup(params []NamedParam, cfg C) {
	if c.byName == nil {
		c.byName = map[string]*slot{}
		c.byPtr = map[*nn.Param]string{}
	}
	where := fmt.Sprintf("group %d", len(c.groups))
	if msg := c.k.check(&cfg); msg != "" {
		c.panicf("%s: %s", where, msg)
	}
	if len(params) == 0 {
		c.panicf("%s: no parameters", where)
	}
	// Check everything before registering anything, so that a recovered
	// panic leaves the optimizer as it was.
	seen := map[string]bool{}
	seenPtr := map[*nn.Param]string{}
	for i, np := range params {
		switch {
		case np.Name == "":
			c.panicf("%s: parameter %d has an empty name", where, i)
		case np.Param == nil || np.Param.Var == nil:
			c.panicf("%s: parameter %q is nil", where, np.Name)
		case seen[np.Name] || c.byName[np.Name] != nil:
			c.panicf("%s: parameter name %q given twice", where, np.Name)
		}
		other, ok := c.byPtr[np.Param]
		if !ok {
			other, ok = seenPtr[np.Param]
		}
		if ok {
			c.panicf("%s: parameter %q is already in the optimizer as %q", where, np.Name, other)
		}
		seen[np.Name] = true
		seenPtr[np.Param] = np.Name
	}
	g := &group[C]{cfg: cfg, slots: make([]*slot, 0, len(params))}
	for _, np := range params {
		s := &slot{name: np.Name, p: np.Param, group: len(c.groups)}
		c.byName[np.Name] = s
		c.byPtr[np.Param] = np.Name
		g.slots = append(g.slots, s)
	}
	c.groups = append(c.groups, g)
	c.params = append(c.params, params...)
}

// Step applies one update to every parameter that is not frozen and has a
// gradient. A frozen parameter's state is cleared, so that if it is
// unfrozen later it starts again from a first step, as a newly added
// parameter would. The update works in place on the parameters' Value
// tensors and records no graph.
//
// It panics if a group's hyper-parameters have been set to invalid values,
// or a gradient's shape differs from its parameter's, or a parameter's Value
// was replaced by one of another shape while it had state.
func (c *core[C]) Step() {
	for gi, g := range c.groups {
		if msg := c.k.check(&g.cfg); msg != "" {
			c.panicf("Step: group %d: %s", gi, msg)
		}
		for _, s := range g.slots {
			p := s.p
			if p.Frozen() {
				if s.step != 0 {
					s.clear()
				}
				continue
			}
			if p.Grad == nil {
				continue
			}
			if !p.Grad.SameShape(p.Value) {
				c.panicf("%s: gradient shape %v differs from parameter shape %v", s.name, p.Grad.Shape(), p.Value.Shape())
			}
			for i, b := range s.bufs {
				if b != nil && !b.SameShape(p.Value) {
					c.panicf("%s: state %s has shape %v but the parameter now has shape %v (Reset it)",
						s.name, c.k.bufNames[i], b.Shape(), p.Value.Shape())
				}
			}
			s.step++
			c.k.update(&g.cfg, s)
		}
	}
}

// ZeroGrad sets the gradients of all the optimizer's parameters to zero in
// place. A parameter whose Grad is nil keeps it nil.
//
// Zeroing in place (PyTorch's zero_grad(set_to_none=False)) keeps the
// gradient memory for the next Backward. Its consequence is that a
// parameter which takes part in no later Backward is still stepped with a
// zero gradient, so momentum keeps moving it; freeze it to stop it.
func (c *core[C]) ZeroGrad() {
	for _, g := range c.groups {
		for _, s := range g.slots {
			if s.p.Grad != nil {
				s.p.Grad.Fill(0)
			}
		}
	}
}

// Params returns the parameters of all groups, in group order. The slice
// is the optimizer's own, returned without copying so that
// ClipGradNorm(opt.Params(), max) allocates nothing; do not modify it.
func (c *core[C]) Params() []NamedParam { return slices.Clip(c.params) }

// NumGroups returns the number of parameter groups.
func (c *core[C]) NumGroups() int { return len(c.groups) }

func (c *core[C]) group(i int, op string) *group[C] {
	if i < 0 || i >= len(c.groups) {
		c.panicf("%s: group %d out of range [0, %d)", op, i, len(c.groups))
	}
	return c.groups[i]
}

// LR returns the learning rate of group i.
//
// It panics if i is out of range.
func (c *core[C]) LR(i int) float64 { return *c.k.lr(&c.group(i, "LR").cfg) }

// SetLR sets the learning rate of group i.
//
// It panics if i is out of range or lr is negative or not finite.
func (c *core[C]) SetLR(i int, lr float64) {
	g := c.group(i, "SetLR")
	if !(lr >= 0) || math.IsInf(lr, 0) {
		c.panicf("SetLR: group %d: learning rate %v is not a finite number >= 0", i, lr)
	}
	*c.k.lr(&g.cfg) = lr
}

// Reset clears the state of the named parameters, or of every parameter if
// no name is given: their next update is a first step.
//
// It panics if a name is not one of the optimizer's parameters.
func (c *core[C]) Reset(names ...string) {
	if len(names) == 0 {
		for _, s := range c.byName {
			s.clear()
		}
		return
	}
	for _, n := range names {
		s := c.byName[n]
		if s == nil {
			c.panicf("Reset: no parameter named %q", n)
		}
		s.clear()
	}
}

// Steps returns the number of updates applied to the named parameter since
// its state was last cleared (0 for one never updated).
//
// It panics if name is not one of the optimizer's parameters.
func (c *core[C]) Steps(name string) int {
	s := c.byName[name]
	if s == nil {
		c.panicf("Steps: no parameter named %q", name)
	}
	return s.step
}

// sortedNames returns the parameter names in sorted order.
func (c *core[C]) sortedNames() []string {
	names := make([]string, 0, len(c.byName))
	for n := range c.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
