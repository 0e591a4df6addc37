package optim_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenCase builds the optimizer of one case of a golden file from W and b
// (the model of scripts/golden/gen_optim.py).
type goldenCase struct {
	file, name string
	// groups are the hyper-parameters of each group, checked against the
	// file's meta; with two groups, W is in the first and b in the second.
	groups []any
	make   func(w, b []optim.NamedParam) optim.Optimizer
	// clip and sched, when set, are applied as in the generator.
	clip  float64
	sched optim.Schedule
}

func adamCfg(lr, b1, b2, eps, wd float64) optim.AdamConfig {
	return optim.AdamConfig{LR: lr, Beta1: b1, Beta2: b2, Eps: eps, WeightDecay: wd}
}

func oneGroup[C any](newOpt func([]optim.NamedParam, C) optim.Optimizer, c C) ([]any, func(w, b []optim.NamedParam) optim.Optimizer) {
	return []any{c}, func(w, b []optim.NamedParam) optim.Optimizer {
		return newOpt(append(w, b...), c)
	}
}

func goldenCases() []goldenCase {
	var cases []goldenCase
	add := func(file, name string, groups []any, mk func(w, b []optim.NamedParam) optim.Optimizer) {
		cases = append(cases, goldenCase{file: file, name: name, groups: groups, make: mk})
	}
	adam := func(ps []optim.NamedParam, c optim.AdamConfig) optim.Optimizer { return optim.NewAdam(ps, c) }
	adamW := func(ps []optim.NamedParam, c optim.AdamConfig) optim.Optimizer { return optim.NewAdamW(ps, c) }
	sgd := func(ps []optim.NamedParam, c optim.SGDConfig) optim.Optimizer { return optim.NewSGD(ps, c) }
	rms := func(ps []optim.NamedParam, c optim.RMSpropConfig) optim.Optimizer { return optim.NewRMSprop(ps, c) }

	g, mk := oneGroup(adam, adamCfg(1e-2, 0.9, 0.999, 1e-8, 0))
	add("adam", "adam", g, mk)
	g, mk = oneGroup(adam, adamCfg(1e-4, 0, 0.9, 1e-8, 0))
	add("adam", "adam_paper", g, mk)
	g, mk = oneGroup(adam, adamCfg(1e-2, 0, 0.9, 1e-8, 0))
	add("adam", "adam_paper_fast", g, mk)
	g, mk = oneGroup(adam, adamCfg(1e-2, 0.9, 0.999, 1e-8, 0.1))
	add("adam", "adam_l2", g, mk)
	g, mk = oneGroup(adamW, adamCfg(1e-2, 0.9, 0.999, 1e-8, 0.1))
	add("adam", "adamw", g, mk)
	ams := adamCfg(1e-2, 0.5, 0.9, 1e-8, 0)
	ams.AMSGrad = true
	g, mk = oneGroup(adam, ams)
	add("adam", "adam_amsgrad", g, mk)
	ams = adamCfg(1e-2, 0.9, 0.999, 1e-8, 0.1)
	ams.AMSGrad = true
	g, mk = oneGroup(adamW, ams)
	add("adam", "adamw_amsgrad", g, mk)
	cW, cb := adamCfg(1e-2, 0.9, 0.999, 1e-8, 0), adamCfg(1e-3, 0, 0.9, 1e-6, 0.05)
	add("adam", "adam_groups", []any{cW, cb}, func(w, b []optim.NamedParam) optim.Optimizer {
		o := optim.NewAdam(w, cW)
		o.AddGroup(b, cb)
		return o
	})

	g, mk = oneGroup(sgd, optim.SGDConfig{LR: 0.01})
	add("sgd", "sgd", g, mk)
	g, mk = oneGroup(sgd, optim.SGDConfig{LR: 0.01, WeightDecay: 0.1})
	add("sgd", "sgd_l2", g, mk)
	g, mk = oneGroup(sgd, optim.SGDConfig{LR: 0.01, Momentum: 0.9, Dampening: 0.1})
	add("sgd", "sgd_momentum", g, mk)
	g, mk = oneGroup(sgd, optim.SGDConfig{LR: 0.01, Momentum: 0.9, WeightDecay: 0.01, Nesterov: true})
	add("sgd", "sgd_nesterov", g, mk)

	rc := optim.DefaultRMSprop()
	g, mk = oneGroup(rms, rc)
	add("rmsprop", "rmsprop", g, mk)
	c := rc
	c.LR, c.Momentum, c.WeightDecay = 1e-3, 0.9, 0.01
	g, mk = oneGroup(rms, c)
	add("rmsprop", "rmsprop_momentum", g, mk)
	c = rc
	c.LR, c.Alpha, c.Centered = 1e-3, 0.9, true
	g, mk = oneGroup(rms, c)
	add("rmsprop", "rmsprop_centered", g, mk)
	c = rc
	c.LR, c.Alpha, c.Momentum, c.Centered, c.Eps = 1e-3, 0.9, 0.5, true, 1e-6
	g, mk = oneGroup(rms, c)
	add("rmsprop", "rmsprop_centered_momentum", g, mk)

	g, mk = oneGroup(sgd, optim.SGDConfig{LR: 0.05, Momentum: 0.9})
	cases = append(cases, goldenCase{file: "schedule", name: "sgd_clip_warmup_cosine", groups: g, make: mk,
		clip: 1, sched: optim.Warmup(3, optim.Cosine(17))})
	return cases
}

// goldenModel is the model of the generator: loss = sum((x@W + b)² · c).
type goldenModel struct {
	x, c *autograd.Var
	W, B *nn.Param
}

func newGoldenModel(f *golden.File) *goldenModel {
	return &goldenModel{
		x: autograd.Const(goldenTensor(f, "x")),
		c: autograd.Const(goldenTensor(f, "c")),
		W: nn.NewParam(goldenTensor(f, "W.0")),
		B: nn.NewParam(goldenTensor(f, "b.0")),
	}
}

func (m *goldenModel) loss() *autograd.Var {
	y := autograd.Add(autograd.MatMul(m.x, m.W.Var), m.B.Var)
	return autograd.Sum(autograd.Mul(autograd.Square(y), m.c), false)
}

func goldenTensor(f *golden.File, name string) *tensor.Tensor {
	t, ok := f.Tensors[name]
	if !ok {
		panic("golden tensor " + name + " missing")
	}
	return tensor.FromSlice(append([]float32(nil), t.Data...), t.Shape...)
}

// relErr returns max|got − want| / max(scale, max|want|).
func relErr(got *tensor.Tensor, want golden.Tensor, scale float64) float64 {
	var diff float64
	for i, w := range want.Data {
		diff = max(diff, math.Abs(float64(got.Data()[i])-float64(w)))
		scale = max(scale, math.Abs(float64(w)))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// maxAbs returns max|t|.
func maxAbs(t golden.Tensor) float64 {
	m := 0.0
	for _, x := range t.Data {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// checkMeta compares the case's Go hyper-parameters with the generator's.
func checkMeta(t *testing.T, f *golden.File, gc goldenCase) {
	t.Helper()
	cases, _ := f.Meta["cases"].(map[string]any)
	meta, _ := cases[gc.name].(map[string]any)
	require.NotNil(t, meta, "meta.cases[%q] missing", gc.name)
	var goGroups any
	b, _ := json.Marshal(gc.groups)
	require.NoError(t, json.Unmarshal(b, &goGroups))
	require.Equal(t, meta["groups"], goGroups, "Go hyper-parameters against the generator's")
}

// TestGolden runs every case for 20 steps twice and compares W and b after
// each step with PyTorch's: once with gradients from gantry's autograd (the
// real use) and once fed PyTorch's own gradients, which isolates the update
// arithmetic.
func TestGolden(t *testing.T) {
	files := map[string]*golden.File{}
	for _, gc := range goldenCases() {
		f := files[gc.file]
		if f == nil {
			var err error
			f, err = golden.Read("testdata/" + gc.file + ".json")
			require.NoError(t, err)
			files[gc.file] = f
		}
		steps := int(f.Meta["steps"].(float64))
		for _, torchGrads := range []bool{false, true} {
			mode := "autograd"
			if torchGrads {
				mode = "torchgrads"
			}
			t.Run(gc.name+"/"+mode, func(t *testing.T) {
				checkMeta(t, f, gc)
				m := newGoldenModel(f)
				w := []optim.NamedParam{{Name: "W", Param: m.W}}
				b := []optim.NamedParam{{Name: "b", Param: m.B}}
				opt := gc.make(w, b)
				var sched *optim.Scheduler
				if gc.sched != nil {
					sched = optim.NewScheduler(opt, gc.sched)
				}
				worst := 0.0
				// The scale of a parameter is the largest magnitude it has
				// had so far: rounding errors made while it was large stay
				// when it later passes near zero.
				scale := [2]float64{maxAbs(f.Tensors["W.0"]), maxAbs(f.Tensors["b.0"])}
				var gscale [2]float64
				tol := goldenTol
				if torchGrads {
					tol = updateTol
				}
				for k := 1; k <= steps; k++ {
					opt.ZeroGrad()
					if torchGrads {
						m.W.Grad = goldenTensor(f, fmt.Sprintf("%s.gW.%d", gc.name, k))
						m.B.Grad = goldenTensor(f, fmt.Sprintf("%s.gb.%d", gc.name, k))
					} else {
						autograd.Backward(m.loss())
					}
					if gc.clip > 0 && !torchGrads {
						norm := optim.ClipGradNorm(opt.Params(), gc.clip)
						want := f.Tensors[fmt.Sprintf("%s.norm.%d", gc.name, k)].Data[0]
						assert.InEpsilon(t, float64(want), norm, goldenTol, "step %d: ClipGradNorm", k)
					}
					if gc.sched != nil {
						want := f.Tensors[fmt.Sprintf("%s.lr.%d", gc.name, k)].Data[0]
						// want is stored in float32: updateTol is its rounding.
						assert.InDelta(t, float64(want), opt.LR(0), updateTol*float64(want)+tolSchedule, "step %d: LR", k)
					}
					// The gradients are sums with cancellation; like the
					// parameters they are measured against the largest
					// magnitude they have had.
					for i, p := range []struct {
						got  *tensor.Tensor
						name string
					}{{m.W.Grad, "gW"}, {m.B.Grad, "gb"}} {
						want := f.Tensors[fmt.Sprintf("%s.%s.%d", gc.name, p.name, k)]
						gscale[i] = max(gscale[i], maxAbs(want))
						assert.LessOrEqual(t, relErr(p.got, want, gscale[i]), goldenTol, "step %d: %s relative error", k, p.name)
					}
					opt.Step()
					if sched != nil {
						sched.Step()
					}
					for i, p := range []struct {
						got  *tensor.Tensor
						name string
					}{{m.W.Value, "W"}, {m.B.Value, "b"}} {
						want := f.Tensors[fmt.Sprintf("%s.%s.%d", gc.name, p.name, k)]
						e := relErr(p.got, want, scale[i])
						scale[i] = max(scale[i], maxAbs(want))
						worst = max(worst, e)
						assert.LessOrEqual(t, e, tol, "step %d: %s relative error", k, p.name)
					}
				}
				t.Logf("worst relative mismatch over %d steps: %.3g", steps, worst)
				checkFinalState(t, f, gc.name, opt.State(), tol)
			})
		}
	}
}

// checkFinalState compares the optimizer's state after the last step with
// PyTorch's: the same buffers under the same names (torch's state key, a
// dot, the parameter name), close values, and the same step counts where
// PyTorch keeps them.
func checkFinalState(t *testing.T, f *golden.File, name string, st *optim.State, tol float64) {
	t.Helper()
	prefix := name + ".state."
	want := map[string]golden.Tensor{}
	for k, v := range f.Tensors {
		if key, ok := strings.CutPrefix(k, prefix); ok {
			want[key] = v
		}
	}
	assert.Len(t, st.Tensors, len(want), "State's tensors against PyTorch's")
	for key, w := range want {
		got := st.Tensors[key]
		if !assert.NotNil(t, got, "State lacks %q", key) {
			continue
		}
		assert.LessOrEqual(t, relErr(got, w, 0), tol, "State %q: relative error", key)
	}
	cases := f.Meta["cases"].(map[string]any)
	steps, _ := cases[name].(map[string]any)["steps"].(map[string]any)
	for p, n := range steps {
		assert.Equal(t, n.(float64), float64(st.Steps[p]), "State.Steps[%q] against PyTorch's", p)
	}
}
