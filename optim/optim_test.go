package optim_test

import (
	"math"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNamedHelpers(t *testing.T) {
	m := newToy(1)
	names := func(ps []optim.NamedParam) []string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name)
		}
		return s
	}
	ps := optim.Named(nn.Parameters(m))
	assert.Equal(t, []string{"W", "b", "V"}, names(ps), "Named")
	assert.Same(t, m.W, ps[0].Param, "Named keeps the parameter pointer")
	pre := optim.Prefixed("d.blocks.0", nn.Parameters(m))
	assert.Equal(t, []string{"d.blocks.0.W", "d.blocks.0.b", "d.blocks.0.V"}, names(pre), "Prefixed")
	all := append(pre, optim.Prefixed("d.blocks.01", nn.Parameters(newToy(2)))...)
	assert.Equal(t, names(pre), names(optim.Filter(all, optim.HasPrefix("d.blocks.0"))), "Filter(HasPrefix)")
}

// TestFrozen checks that a frozen parameter is not moved, keeps no state,
// and, unfrozen, starts afresh: its trajectory from then on is that of a
// new optimizer started at the same point.
func TestFrozen(t *testing.T) {
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			m := newToy(5)
			opt := mk.make(optim.Named(nn.Parameters(m)))
			st := opt.(interface{ Steps(string) int })
			step := func(k int) {
				opt.ZeroGrad()
				m.backward(k)
				opt.Step()
			}
			step(0)
			step(1)
			m.V.Freeze()
			v := m.V.Value.Clone()
			step(2)
			step(3)
			assertTensor(t, v, m.V.Value, "a frozen parameter moved")
			assert.Zero(t, st.Steps("V"), "frozen V's steps of state (cleared)")
			assert.Equal(t, 4, st.Steps("W"), "W's steps")
			assert.NotContains(t, opt.State().Tensors, "exp_avg.V", "State holds tensors of a frozen parameter")

			// Unfreeze: V must now follow what a fresh optimizer would do
			// with V alone (W and b frozen, so the gradient is the same).
			m.V.Unfreeze()
			twin := m.clone()
			twin.W.Freeze()
			twin.B.Freeze()
			fresh := mk.make([]optim.NamedParam{{Name: "V", Param: twin.V}})
			m.W.Freeze()
			m.B.Freeze()
			for k := 4; k < 7; k++ {
				step(k)
				fresh.ZeroGrad()
				twin.backward(k)
				fresh.Step()
			}
			assertTensor(t, twin.V.Value, m.V.Value, "unfrozen V against the fresh start")
		})
	}
}

func TestNilGradSkipped(t *testing.T) {
	for _, mk := range makers {
		m := newToy(6)
		opt := mk.make(optim.Named(nn.Parameters(m)))
		v := m.V.Value.Clone()
		m.W.Grad = tensor.Ones(3, 4)
		m.B.Grad = tensor.Ones(4)
		opt.Step()
		assertTensor(t, v, m.V.Value, "%s: a parameter with nil Grad moved", mk.name)
		assert.Zero(t, opt.State().Steps["V"], "%s: nil-Grad V's steps", mk.name)
	}
}

func TestZeroGrad(t *testing.T) {
	m := newToy(7)
	opt := optim.NewSGD(optim.Named(nn.Parameters(m)), optim.DefaultSGD(0.1))
	m.backward(0)
	g := m.W.Grad
	opt.ZeroGrad()
	assert.Same(t, g, m.W.Grad, "ZeroGrad replaced the gradient tensor; want it zeroed in place")
	assertTensor(t, tensor.New(3, 4), g, "ZeroGrad")
	m.V.ZeroGrad()
	opt.ZeroGrad()
	assert.Nil(t, m.V.Grad, "ZeroGrad allocated a nil gradient")
}

// TestGroups checks per-group rates and hyper-parameters: a group with
// rate 0 does not move, and changing a group's configuration between steps
// takes effect.
func TestGroups(t *testing.T) {
	m := newToy(8)
	all := optim.Named(nn.Parameters(m))
	opt := optim.NewAdam(optim.Filter(all, optim.HasPrefix("W")), optim.DefaultAdam())
	slow := optim.DefaultAdam()
	slow.LR, slow.Beta1 = 0, 0
	require.Equal(t, 1, opt.AddGroup(optim.Filter(all, func(n string) bool { return n != "W" }), slow), "AddGroup")
	require.Equal(t, 2, opt.NumGroups())
	require.Equal(t, 1e-3, opt.LR(0))
	require.Zero(t, opt.LR(1))
	assert.Len(t, opt.Params(), 3)
	w, b := m.W.Value.Clone(), m.B.Value.Clone()
	m.backward(0)
	opt.Step()
	assert.False(t, tensor.Equal(w, m.W.Value), "group 0 should move")
	assertTensor(t, b, m.B.Value, "group 1 (rate 0) should not move")
	opt.SetLR(1, 0.5)
	opt.Config(1).Eps = 1
	opt.Step()
	assert.False(t, tensor.Equal(b, m.B.Value), "group 1 did not move after SetLR")
}

func TestPanics(t *testing.T) {
	m := newToy(9)
	ps := optim.Named(nn.Parameters(m))
	bad := optim.DefaultAdam()
	bad.Beta2 = 1
	mustPanic(t, "Beta2 = 1", "optim: Adam: group 0: Beta2 1 is not in [0, 1)", func() { optim.NewAdam(ps, bad) })
	mustPanic(t, "no params", "optim: SGD: group 0: no parameters", func() { optim.NewSGD(nil, optim.DefaultSGD(1)) })
	mustPanic(t, "empty name", "empty name", func() {
		optim.NewSGD([]optim.NamedParam{{Param: m.W}}, optim.DefaultSGD(1))
	})
	mustPanic(t, "nil param", `parameter "x" is nil`, func() {
		optim.NewSGD([]optim.NamedParam{{Name: "x"}}, optim.DefaultSGD(1))
	})
	mustPanic(t, "repeated name", `name "W" given twice`, func() {
		optim.NewSGD([]optim.NamedParam{{"W", m.W}, {"W", m.B}}, optim.DefaultSGD(1))
	})
	mustPanic(t, "parameter twice", `already in the optimizer as "W"`, func() {
		o := optim.NewRMSprop(ps[:1], optim.DefaultRMSprop())
		o.AddGroup([]optim.NamedParam{{"W2", m.W}}, optim.DefaultRMSprop())
	})
	mustPanic(t, "parameter twice in a group", `parameter "W2" is already in the optimizer as "W"`, func() {
		optim.NewRMSprop([]optim.NamedParam{{"W", m.W}, {"W2", m.W}}, optim.DefaultRMSprop())
	})
	// A refused group leaves the optimizer unchanged.
	o := optim.NewSGD(ps[:1], optim.DefaultSGD(1))
	_ = panics(func() { o.AddGroup([]optim.NamedParam{{"b", m.B}, {"W", m.V}}, optim.DefaultSGD(1)) })
	assert.Equal(t, 1, o.NumGroups(), "groups after a refused AddGroup")
	assert.Len(t, o.Params(), 1, "params after a refused AddGroup")
	o.AddGroup(ps[1:2], optim.DefaultSGD(1)) // "b" is still free
	mustPanic(t, "Nesterov with dampening", "Nesterov", func() {
		optim.NewSGD(ps, optim.SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true})
	})
	mustPanic(t, "negative LR", "learning rate -1", func() { optim.NewRMSprop(ps, optim.RMSpropConfig{LR: -1}) })
	mustPanic(t, "Adam without Eps", "Eps 0 is not a finite number > 0", func() {
		optim.NewAdam(ps, optim.AdamConfig{LR: 1e-4, Beta1: 0, Beta2: 0.9})
	})
	mustPanic(t, "RMSprop without Eps", "Eps 0 is not a finite number > 0", func() {
		optim.NewRMSprop(ps, optim.RMSpropConfig{LR: 1e-4, Alpha: 0.99})
	})
	opt := optim.NewAdamW(ps, optim.DefaultAdamW())
	mustPanic(t, "group out of range", "optim: AdamW: LR: group 1 out of range", func() { opt.LR(1) })
	mustPanic(t, "SetLR NaN", "SetLR", func() { opt.SetLR(0, math.NaN()) })
	mustPanic(t, "Steps unknown", `no parameter named "zz"`, func() { opt.Steps("zz") })
	mustPanic(t, "Reset unknown", `no parameter named "zz"`, func() { opt.Reset("zz") })
	opt.Config(0).Beta1 = -1
	m.W.Grad = tensor.New(3, 4)
	mustPanic(t, "invalid config at Step", "optim: AdamW: Step: group 0: Beta1 -1", opt.Step)
	opt.Config(0).Beta1 = 0.9
	m.W.Grad = tensor.New(4, 3)
	mustPanic(t, "grad shape", "W: gradient shape [4 3] differs from parameter shape [3 4]", opt.Step)
	mustPanic(t, "ClipGradNorm", "maxNorm -1", func() { optim.ClipGradNorm(ps, -1) })
	m.W.Grad = tensor.New(3, 4)
	opt.Step()
	m.W.Value, m.W.Grad = tensor.New(2), tensor.New(2)
	mustPanic(t, "value reshaped", "W: state exp_avg has shape [3 4] but the parameter now has shape [2]", opt.Step)
	opt.Reset("W")
	opt.Step()
}

func TestReset(t *testing.T) {
	m := newToy(10)
	opt := optim.NewAdam(optim.Named(nn.Parameters(m)), optim.DefaultAdam())
	m.backward(0)
	opt.Step()
	opt.Reset("W")
	assert.Zero(t, opt.Steps("W"), "W's steps after Reset(W)")
	assert.Equal(t, 1, opt.Steps("b"), "b's steps after Reset(W)")
	opt.Reset()
	assert.Zero(t, opt.Steps("b"), "Reset() kept state")
}

func TestClipGradNorm(t *testing.T) {
	a := nn.NewParam(tensor.New(2))
	b := nn.NewParam(tensor.New(1))
	c := nn.NewParam(tensor.New(1))
	ps := []optim.NamedParam{{"a", a}, {"b", b}, {"c", c}, {"d", nn.NewParam(tensor.New(1))}}
	set := func() {
		a.Grad = tensor.FromSlice([]float32{3, 0})
		b.Grad = tensor.FromSlice([]float32{4})
		c.Grad = tensor.FromSlice([]float32{100})
		c.Freeze() // skipped, as is d with its nil Grad
		c.Grad = tensor.FromSlice([]float32{100})
	}
	set()
	assert.Equal(t, 5.0, optim.ClipGradNorm(ps, 10), "ClipGradNorm(10)")
	assert.Equal(t, float32(3), a.Grad.At(0), "ClipGradNorm(10) changed a.Grad")
	set()
	assert.Equal(t, 5.0, optim.ClipGradNorm(ps, 1), "ClipGradNorm(1)")
	want := float32(1 / (5 + 1e-6))
	assert.Equal(t, 3*want, a.Grad.At(0), "clipped a")
	assert.Equal(t, 4*want, b.Grad.At(0), "clipped b")
	assert.Equal(t, float32(100), c.Grad.At(0), "frozen c untouched")
	a.Grad = tensor.FromSlice([]float32{float32(math.Inf(1)), 1})
	assert.Equal(t, math.Inf(1), optim.ClipGradNorm(ps, 1), "ClipGradNorm with Inf")
	assert.Equal(t, float32(1), a.Grad.At(1), "ClipGradNorm with Inf changed a.Grad")
}

func TestSchedules(t *testing.T) {

	tests := []struct {
		name  string
		s     optim.Schedule
		steps []int
		want  []float64
	}{
		{"Constant", optim.Constant(), []int{0, 5, 1000}, []float64{1, 1, 1}},
		{"Linear", optim.Linear(4), []int{0, 1, 2, 4, 9}, []float64{1, 0.75, 0.5, 0, 0}},
		{"Cosine", optim.Cosine(4), []int{0, 2, 4, 9}, []float64{1, 0.5, 0, 0}},
		{"Warmup", optim.Warmup(4, nil), []int{0, 1, 3, 4, 100}, []float64{0.25, 0.5, 1, 1, 1}},
		{"Warmup+Linear", optim.Warmup(2, optim.Linear(2)), []int{0, 1, 2, 3, 4}, []float64{0.5, 1, 1, 0.5, 0}},
		{"Mul", optim.Mul(optim.Linear(2), optim.Constant(), func(int) float64 { return 0.1 }), []int{0, 1}, []float64{0.1, 0.05}},
	}
	for _, tt := range tests {
		for i, step := range tt.steps {
			assert.InDelta(t, tt.want[i], tt.s(step), tolSchedule, "%s(%d)", tt.name, step)
		}
	}
	mustPanic(t, "Linear(0)", "optim: Linear: total 0", func() { optim.Linear(0) })
	mustPanic(t, "Cosine(0)", "optim: Cosine", func() { optim.Cosine(0) })
	mustPanic(t, "Warmup(-1)", "optim: Warmup", func() { optim.Warmup(-1, nil) })
}

func TestScheduler(t *testing.T) {
	m := newToy(11)
	ps := optim.Named(nn.Parameters(m))
	opt := optim.NewSGD(ps[:1], optim.DefaultSGD(0.4))
	sc := optim.NewScheduler(opt, optim.Linear(4))
	assert.Equal(t, 0.4, opt.LR(0), "LR at step 0")
	sc.Step()
	opt.AddGroup(ps[1:], optim.DefaultSGD(0.8))
	sc.Step()
	assert.Equal(t, 2, sc.StepCount())
	assert.Equal(t, []float64{0.2, 0.4}, []float64{opt.LR(0), opt.LR(1)}, "LRs at step 2")
	assert.Equal(t, 0.8, sc.BaseLR(1), "base LR of group 1")
	sc.SetStep(3)
	assert.Equal(t, []float64{0.1, 0.2}, []float64{opt.LR(0), opt.LR(1)}, "LRs after SetStep(3)")
	mustPanic(t, "SetStep(-1)", "optim: Scheduler.SetStep", func() { sc.SetStep(-1) })
	mustPanic(t, "bad multiplier", "multiplier -1", func() {
		optim.NewScheduler(opt, func(int) float64 { return -1 })
	})
}
