package optim_test

import (
	"math"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
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
	if got, want := names(ps), []string{"W", "b", "V"}; !slices.Equal(got, want) {
		t.Errorf("Named = %v; want %v", got, want)
	}
	if ps[0].Param != m.W {
		t.Error("Named lost the parameter pointer")
	}
	pre := optim.Prefixed("d.blocks.0", nn.Parameters(m))
	if got, want := names(pre), []string{"d.blocks.0.W", "d.blocks.0.b", "d.blocks.0.V"}; !slices.Equal(got, want) {
		t.Errorf("Prefixed = %v; want %v", got, want)
	}
	all := append(pre, optim.Prefixed("d.blocks.01", nn.Parameters(newToy(2)))...)
	if got := names(optim.Filter(all, optim.HasPrefix("d.blocks.0"))); !slices.Equal(got, names(pre)) {
		t.Errorf("Filter(HasPrefix) = %v; want %v", got, names(pre))
	}
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
			if !tensor.Equal(v, m.V.Value) {
				t.Error("a frozen parameter moved")
			}
			if n := st.Steps("V"); n != 0 {
				t.Errorf("frozen V has %d steps of state; want 0 (cleared)", n)
			}
			if n := st.Steps("W"); n != 4 {
				t.Errorf("W has %d steps; want 4", n)
			}
			if _, ok := opt.State().Tensors["exp_avg.V"]; ok {
				t.Error("State holds tensors of a frozen parameter")
			}

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
			if !tensor.Equal(m.V.Value, twin.V.Value) {
				t.Errorf("unfrozen V = %v; want the fresh start %v", m.V.Value, twin.V.Value)
			}
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
		if !tensor.Equal(v, m.V.Value) {
			t.Errorf("%s: a parameter with nil Grad moved", mk.name)
		}
		if n := opt.State().Steps["V"]; n != 0 {
			t.Errorf("%s: nil-Grad V has %d steps; want 0", mk.name, n)
		}
	}
}

func TestZeroGrad(t *testing.T) {
	m := newToy(7)
	opt := optim.NewSGD(optim.Named(nn.Parameters(m)), optim.DefaultSGD(0.1))
	m.backward(0)
	g := m.W.Grad
	opt.ZeroGrad()
	if m.W.Grad != g {
		t.Error("ZeroGrad replaced the gradient tensor; want it zeroed in place")
	}
	if !tensor.Equal(g, tensor.New(3, 4)) {
		t.Errorf("ZeroGrad left %v", g)
	}
	m.V.ZeroGrad()
	opt.ZeroGrad()
	if m.V.Grad != nil {
		t.Error("ZeroGrad allocated a nil gradient")
	}
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
	if i := opt.AddGroup(optim.Filter(all, func(n string) bool { return n != "W" }), slow); i != 1 {
		t.Fatalf("AddGroup = %d; want 1", i)
	}
	if opt.NumGroups() != 2 || opt.LR(0) != 1e-3 || opt.LR(1) != 0 {
		t.Fatalf("groups %d, LRs %v %v", opt.NumGroups(), opt.LR(0), opt.LR(1))
	}
	if got := len(opt.Params()); got != 3 {
		t.Errorf("len(Params()) = %d; want 3", got)
	}
	w, b := m.W.Value.Clone(), m.B.Value.Clone()
	m.backward(0)
	opt.Step()
	if tensor.Equal(w, m.W.Value) || !tensor.Equal(b, m.B.Value) {
		t.Error("group 0 should move and group 1 (rate 0) should not")
	}
	opt.SetLR(1, 0.5)
	opt.Config(1).Eps = 1
	opt.Step()
	if tensor.Equal(b, m.B.Value) {
		t.Error("group 1 did not move after SetLR")
	}
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
	if o.NumGroups() != 1 || len(o.Params()) != 1 {
		t.Errorf("after a refused AddGroup: %d groups, %d params; want 1, 1", o.NumGroups(), len(o.Params()))
	}
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
	if opt.Steps("W") != 0 || opt.Steps("b") != 1 {
		t.Errorf("after Reset(W): steps %d, %d; want 0, 1", opt.Steps("W"), opt.Steps("b"))
	}
	opt.Reset()
	if opt.Steps("b") != 0 {
		t.Error("Reset() kept state")
	}
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
	if n := optim.ClipGradNorm(ps, 10); n != 5 || a.Grad.At(0) != 3 {
		t.Errorf("ClipGradNorm(10) = %v, a.Grad %v; want 5 and no change", n, a.Grad)
	}
	set()
	if n := optim.ClipGradNorm(ps, 1); n != 5 {
		t.Errorf("ClipGradNorm(1) = %v; want 5", n)
	}
	want := float32(1 / (5 + 1e-6))
	if a.Grad.At(0) != 3*want || b.Grad.At(0) != 4*want || c.Grad.At(0) != 100 {
		t.Errorf("clipped grads %v %v %v; want %v %v and c untouched", a.Grad, b.Grad, c.Grad, 3*want, 4*want)
	}
	a.Grad = tensor.FromSlice([]float32{float32(math.Inf(1)), 1})
	if n := optim.ClipGradNorm(ps, 1); !math.IsInf(n, 1) || a.Grad.At(1) != 1 {
		t.Errorf("ClipGradNorm with Inf = %v, grads %v; want +Inf and no change", n, a.Grad)
	}
}

func TestSchedules(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
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
			if got := tt.s(step); !near(got, tt.want[i]) {
				t.Errorf("%s(%d) = %v; want %v", tt.name, step, got, tt.want[i])
			}
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
	if opt.LR(0) != 0.4 {
		t.Errorf("LR at step 0 = %v; want 0.4", opt.LR(0))
	}
	sc.Step()
	opt.AddGroup(ps[1:], optim.DefaultSGD(0.8))
	sc.Step()
	if sc.StepCount() != 2 || opt.LR(0) != 0.2 || opt.LR(1) != 0.4 || sc.BaseLR(1) != 0.8 {
		t.Errorf("step %d: LRs %v, %v; base %v; want 2: 0.2, 0.4; 0.8", sc.StepCount(), opt.LR(0), opt.LR(1), sc.BaseLR(1))
	}
	sc.SetStep(3)
	if opt.LR(0) != 0.1 || opt.LR(1) != 0.2 {
		t.Errorf("SetStep(3): LRs %v, %v; want 0.1, 0.2", opt.LR(0), opt.LR(1))
	}
	mustPanic(t, "SetStep(-1)", "optim: Scheduler.SetStep", func() { sc.SetStep(-1) })
	mustPanic(t, "bad multiplier", "multiplier -1", func() {
		optim.NewScheduler(opt, func(int) float64 { return -1 })
	})
}
