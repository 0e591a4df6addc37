package optim_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip passes st through what a checkpoint does: the scalars through
// JSON, the tensors copied.
func roundTrip(t *testing.T, st *optim.State) *optim.State {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var out optim.State
	require.NoError(t, json.Unmarshal(b, &out))
	out.Tensors = map[string]*tensor.Tensor{}
	for k, v := range st.Tensors {
		out.Tensors[k] = v.Clone()
	}
	return &out
}

// TestResume checks that saving after some steps, restoring into a new
// optimizer over copies of the parameters (listed in another order) and
// continuing gives bit for bit the trajectory of an uninterrupted run,
// learning-rate schedule included.
func TestResume(t *testing.T) {
	const total, cut = 20, 8
	sched := func() optim.Schedule { return optim.Warmup(3, optim.Cosine(total-3)) }
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			ref := newToy(1)
			opt := mk.make(optim.Named(nn.Parameters(ref)))
			sc := optim.NewScheduler(opt, sched())
			var saved *optim.State
			var savedModel *toy
			for k := range total {
				if k == cut {
					saved = roundTrip(t, opt.State())
					savedModel = ref.clone()
				}
				opt.ZeroGrad()
				ref.backward(k)
				opt.Step()
				sc.Step()
			}

			m := savedModel
			ps := optim.Named(nn.Parameters(m))
			slices.Reverse(ps) // state is keyed by name, not position
			opt2 := mk.make(ps)
			require.NoError(t, opt2.LoadState(saved))
			sc2 := optim.NewScheduler(opt2, sched())
			sc2.SetStep(cut)
			for k := cut; k < total; k++ {
				opt2.ZeroGrad()
				m.backward(k)
				opt2.Step()
				sc2.Step()
			}
			assert.True(t, equalValues(m, ref), "resumed run differs:\nW %v\nwant %v", m.W.Value, ref.W.Value)
			assert.Equal(t, opt.State().Steps, opt2.State().Steps, "steps")
		})
	}
}

func TestStateContent(t *testing.T) {
	m := newToy(2)
	opt := optim.NewAdam(optim.Prefixed("g", nn.Parameters(m)), optim.DefaultAdam())
	m.V.Freeze()
	for k := range 3 {
		opt.ZeroGrad()
		m.backward(k)
		opt.Step()
	}
	st := opt.State()
	assert.Equal(t, "Adam", st.Optimizer)
	assert.Equal(t, optim.StateVersion, st.Version)
	assert.Equal(t, map[string]int{"g.W": 3, "g.b": 3, "g.V": 0}, st.Steps)
	var keys []string
	for k := range st.Tensors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	assert.Equal(t, []string{"exp_avg.g.W", "exp_avg.g.b", "exp_avg_sq.g.W", "exp_avg_sq.g.b"}, keys, "tensor names")
	// The state is a copy: stepping on does not change it.
	before := st.Tensors["exp_avg.g.W"].Clone()
	opt.ZeroGrad()
	m.backward(4)
	opt.Step()
	assertTensor(t, before, st.Tensors["exp_avg.g.W"], "State tensors changed by a later Step")
	// JSON holds the scalars only.
	b, err := json.Marshal(st)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Len(t, raw, 3, "JSON of State: %s", b)
	assert.Equal(t, "Adam", raw["optimizer"], "JSON of State")
}

func TestLoadStateErrors(t *testing.T) {
	trained := func() (*toy, *optim.Adam) {
		m := newToy(3)
		opt := optim.NewAdam(optim.Named(nn.Parameters(m)), optim.DefaultAdam())
		opt.ZeroGrad()
		m.backward(0)
		opt.Step()
		return m, opt
	}
	_, src := trained()
	good := src.State()

	type edit func(st *optim.State)
	tests := []struct {
		name                            string
		edit                            edit
		missing, unexpected, mismatched []string
		problems                        int
	}{
		{name: "wrong optimizer", edit: func(st *optim.State) { st.Optimizer = "SGD" }, problems: 1},
		{name: "wrong version", edit: func(st *optim.State) { st.Version = 99 }, problems: 1},
		{
			name: "renamed parameter",
			edit: func(st *optim.State) {
				st.Steps["W2"] = st.Steps["W"]
				delete(st.Steps, "W")
				st.Tensors["exp_avg.W2"] = st.Tensors["exp_avg.W"]
				delete(st.Tensors, "exp_avg.W")
			},
			// The stray exp_avg_sq.W belongs to no parameter of the state.
			missing:    []string{"W"},
			unexpected: []string{"W2", "exp_avg.W2", "exp_avg_sq.W"},
		},
		{
			name:       "shape",
			edit:       func(st *optim.State) { st.Tensors["exp_avg.b"] = tensor.New(5) },
			mismatched: []string{"exp_avg.b: shape [5], want [4]"},
		},
		{
			name: "unknown buffer and missing buffer",
			edit: func(st *optim.State) {
				st.Tensors["momentum.V"] = st.Tensors["exp_avg.V"]
				delete(st.Tensors, "exp_avg.V")
			},
			missing:    []string{"exp_avg.V"},
			unexpected: []string{"momentum.V"},
		},
		{
			name:       "tensor for a parameter never stepped",
			edit:       func(st *optim.State) { st.Steps["b"] = 0 },
			unexpected: []string{"exp_avg.b", "exp_avg_sq.b"},
		},
		{
			name:       "step count that would wrap",
			edit:       func(st *optim.State) { st.Steps["b"] = math.MaxInt },
			mismatched: []string{fmt.Sprintf("b: step count %d is over MaxSteps (2147483647)", math.MaxInt)},
		},
		{
			name: "negative second moment",
			edit: func(st *optim.State) {
				v := st.Tensors["exp_avg_sq.b"].Clone()
				v.Data()[2] = -0.25
				st.Tensors["exp_avg_sq.b"] = v
			},
			mismatched: []string{"exp_avg_sq.b: element 2 is -0.25, but a running average of squares cannot be negative"},
		},
		{
			name: "NaN and infinity",
			edit: func(st *optim.State) {
				m, v := st.Tensors["exp_avg.W"].Clone(), st.Tensors["exp_avg_sq.V"].Clone()
				m.Data()[1] = float32(math.NaN())
				v.Data()[0] = float32(math.Inf(1))
				st.Tensors["exp_avg.W"], st.Tensors["exp_avg_sq.V"] = m, v
			},
			mismatched: []string{"exp_avg.W: element 1 is NaN", "exp_avg_sq.V: element 0 is +Inf"},
		},
		{
			name:       "negative step",
			edit:       func(st *optim.State) { st.Steps["b"] = -1 },
			unexpected: []string{"exp_avg.b", "exp_avg_sq.b"},
			mismatched: []string{"b: negative step count -1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, dst := trained()
			before := dst.State()
			valBefore := m.W.Value.Clone()
			st := roundTrip(t, good)
			tt.edit(st)
			err := dst.LoadState(st)
			var se *optim.StateError
			require.ErrorAs(t, err, &se)
			assert.Len(t, se.Problems, tt.problems, "problems")
			assert.Equal(t, tt.missing, se.Missing, "missing")
			assert.Equal(t, tt.unexpected, se.Unexpected, "unexpected")
			assert.Equal(t, tt.mismatched, se.Mismatched, "mismatched")
			t.Log(err)
			after := dst.State()
			assert.Equal(t, before.Steps, after.Steps, "a failed LoadState changed the steps")
			assertTensor(t, before.Tensors["exp_avg.W"], after.Tensors["exp_avg.W"], "a failed LoadState changed the state")
			assertTensor(t, valBefore, m.W.Value, "a failed LoadState changed the parameter")
		})
	}
	assert.ErrorIs(t, src.LoadState(nil), optim.ErrNilState, "LoadState(nil)")
}

// TestLoadStateConfigBuffers checks that the buffers a state must hold
// follow the group's hyper-parameters: SGD without momentum keeps none.
func TestLoadStateConfigBuffers(t *testing.T) {
	m := newToy(4)
	withMom := optim.NewSGD(optim.Named(nn.Parameters(m)), optim.SGDConfig{LR: 0.1, Momentum: 0.9})
	withMom.ZeroGrad()
	m.backward(0)
	withMom.Step()
	plain := optim.NewSGD(optim.Named(nn.Parameters(m)), optim.SGDConfig{LR: 0.1})
	err := plain.LoadState(withMom.State())
	var se *optim.StateError
	require.ErrorAs(t, err, &se, "loading momentum state into plain SGD")
	require.Len(t, se.Unexpected, 3, "loading momentum state into plain SGD: unexpected buffers")
	// A state with no steps loads anywhere and clears the state.
	require.NoError(t, withMom.LoadState(plain.State()), "loading a fresh state")
	assert.Zero(t, withMom.Steps("W"), "Steps(W) after loading a fresh state")
}
