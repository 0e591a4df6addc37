package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The golden files are written by scripts/golden/gen_nn.py from PyTorch
// modules that use gantry's parameter names; see that script.

func loadGolden(t *testing.T, name string) map[string]*tensor.Tensor {
	t.Helper()
	g, err := golden.Load("testdata/" + name)
	require.NoError(t, err)
	out := make(map[string]*tensor.Tensor, len(g))
	for k, v := range g {
		out[k] = tensor.FromSlice(v.Data, v.Shape...)
	}
	return out
}

// sub returns the golden tensors under prefix, with the prefix removed.
func sub(g map[string]*tensor.Tensor, prefix string) nn.State {
	return nn.State(g).WithPrefix(prefix)
}

func ints(t *tensor.Tensor) []int {
	out := make([]int, t.Len())
	for i, v := range t.Data() {
		out[i] = int(v)
	}
	return out
}

// closeTo reports the largest error beyond atol + rtol·|want|, or "".
func closeTo(got, want *tensor.Tensor, atol, rtol float64) string {
	if !got.SameShape(want) {
		return fmt.Sprintf("shape %v, want %v", got.Shape(), want.Shape())
	}
	worst, at := 0.0, -1
	for i, w := range want.Data() {
		d := math.Abs(float64(got.Data()[i]) - float64(w))
		if ex := d - atol - rtol*math.Abs(float64(w)); ex > worst || math.IsNaN(d) {
			worst, at = ex, i
		}
	}
	if at >= 0 {
		return fmt.Sprintf("element %d = %g, want %g", at, got.Data()[at], want.Data()[at])
	}
	return ""
}

// checkCase runs a golden case: loads the PyTorch state strictly into m,
// runs the forward pass, and compares the output, the gradients of
// sum(out*g) with respect to x and every parameter, and the buffers after.
func checkCase(t *testing.T, g map[string]*tensor.Tensor, name string, m any, fwd func(x *autograd.Var) *autograd.Var) {
	t.Helper()
	require.NoError(t, nn.LoadStateDict(m, sub(g, name+"/state/"), nn.LoadOptions{}), "%s", name)
	var names []string
	var vars []*autograd.Var
	var x *autograd.Var
	if xt, ok := g[name+"/x"]; ok {
		x = autograd.Leaf(xt.Clone())
		names, vars = append(names, "x"), append(vars, x)
	}
	for n, p := range nn.Parameters(m) {
		names, vars = append(names, n), append(vars, p.Var)
	}
	out := fwd(x)
	assert.Empty(t, closeTo(out.Value, g[name+"/out"], gatol, grtol), "%s: output", name)
	loss := autograd.Sum(autograd.Mul(out, autograd.Const(g[name+"/g"])), false)
	grads := autograd.Grad(loss, vars)
	for i, n := range names {
		want, ok := g[name+"/grad/"+n]
		if !assert.True(t, ok, "%s: no golden gradient for %s", name, n) {
			continue
		}
		assert.Empty(t, closeTo(grads[i].Value, want, gatol, grtol), "%s: gradient of %s", name, n)
	}
	if want, ok := g[name+"/gp"]; ok {
		// Second order, as a gradient penalty: gp = Σ (d loss/dx)².
		gx := autograd.Grad(loss, vars[:1], autograd.CreateGraph())[0]
		gp := autograd.Sum(autograd.Square(gx), false)
		assert.Empty(t, closeTo(gp.Value, want, gatol, grtol), "%s: penalty", name)
		var ggs []*autograd.Var
		if gp.RequiresGrad() {
			ggs = autograd.Grad(gp, vars)
		}
		for i, n := range names {
			got := tensor.ZerosLike(vars[i].Value)
			if ggs != nil {
				got = ggs[i].Value
			}
			assert.Empty(t, closeTo(got, g[name+"/gradgp/"+n], gatol, grtol), "%s: second-order gradient of %s", name, n)
		}
	}
	count := 0
	for k, want := range sub(g, name+"/after/") {
		count++
		got := nn.StateDict(m)[k]
		assert.Empty(t, closeTo(got, want, gatol, grtol), "%s: buffer %s after the forward pass", name, k)
	}
	assert.Equal(t, len(nn.StateDict(m))-len(nn.ParamList(m)), count, "%s: golden buffers against the module's", name)
}

func TestLayersMatchPyTorch(t *testing.T) {
	g := loadGolden(t, "layers.json")
	labels := func(name string) []int { return ints(g[name+"/labels"]) }
	cases := []struct {
		name string
		m    any
		fwd  func(m any, name string, x *autograd.Var) *autograd.Var
	}{
		{"linear", nn.NewLinear(5, 3, true, nil), nil},
		{"linear_nobias", nn.NewLinear(5, 3, false, nil), nil},
		{"conv", nn.NewConv2d(3, 4, 3, nn.ConvOptions{Padding: 1}, nil), nil},
		{"conv_s2_nobias", nn.NewConv2d(3, 4, 3, nn.ConvOptions{Stride: 2, Padding: nn.PadSame, NoBias: true}, nil), nil},
		{"conv_1x1", nn.NewConv2d(3, 2, 1, nn.ConvOptions{}, nil), nil},
		{"upsample", nn.Upsample{}, nil},
		{"meanpool", nn.MeanPool{}, nil},
		{"batchnorm", nn.NewBatchNorm2d(3), nil},
		{"layernorm", nn.NewLayerNorm(4), nil},
		{"condbatchnorm", nn.NewCondBatchNorm2d(3, 4), func(m any, name string, x *autograd.Var) *autograd.Var {
			return m.(nn.Norm).Normalize(x, labels(name))
		}},
		{"embedding", nn.NewEmbedding(5, 3, nil), func(m any, name string, _ *autograd.Var) *autograd.Var {
			return m.(*nn.Embedding).Forward(ints(g[name+"/idx"]))
		}},
		{"relu", nn.ReLU{}, nil},
		{"leakyrelu", nn.LeakyReLU{Slope: 0.2}, nil},
		{"tanh", nn.Tanh{}, nil},
		{"sigmoid", nn.Sigmoid{}, nil},
		{"sequential", nn.NewSequential(nn.NewLinear(4, 6, true, nil), nn.ReLU{}, nn.NewLinear(6, 2, true, nil)), nil},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			checkCase(t, g, c.name, c.m, func(x *autograd.Var) *autograd.Var {
				if c.fwd != nil {
					return c.fwd(c.m, c.name, x)
				}
				return c.m.(nn.Module).Forward(x)
			})
		})
	}
	for k := range g {
		if name, _, _ := strings.Cut(k, "/"); !seen[name] {
			assert.Fail(t, "golden case not tested", name)
			seen[name] = true
		}
	}
}

func TestResidualBlocksMatchPyTorch(t *testing.T) {
	g := loadGolden(t, "blocks.json")
	cases := []struct {
		name     string
		in, out  int
		resample nn.Resample
		norm     nn.NormFunc
	}{
		{"up_bn", 4, 3, nn.ResampleUp, nn.BatchNorms(nn.UseRunningStats)},
		{"down_ln", 3, 5, nn.ResampleDown, nn.LayerNorms()},
		{"none_ln_identity", 3, 3, nn.ResampleNone, nn.LayerNorms()},
		{"none_ln", 3, 4, nn.ResampleNone, nn.LayerNorms()},
		{"none_plain", 3, 4, nn.ResampleNone, nil},
		{"up_condbn", 4, 3, nn.ResampleUp, nn.CondBatchNorms(3, nn.UseRunningStats)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := nn.NewResidualBlock(c.in, c.out, 3, c.resample, c.norm, nil)
			var labels []int
			if l, ok := g[c.name+"/labels"]; ok {
				labels = ints(l)
			}
			checkCase(t, g, c.name, b, func(x *autograd.Var) *autograd.Var { return b.ForwardLabels(x, labels) })
		})
	}
	assert.Nil(t, nn.NewResidualBlock(3, 3, 3, nn.ResampleNone, nil, nil).Shortcut, "a block that keeps shape has a shortcut convolution")
}

func TestBatchNormRunningStats(t *testing.T) {
	g := loadGolden(t, "batchnorm.json")
	bn := nn.NewBatchNorm2d(3)
	require.NoError(t, nn.LoadStateDict(bn, sub(g, "state/"), nn.LoadOptions{}))
	for i := range 4 {
		var out *autograd.Var
		autograd.NoGrad(func() { out = bn.Forward(autograd.Const(g[fmt.Sprintf("step%d/x", i)])) })
		assert.Empty(t, closeTo(out.Value, g[fmt.Sprintf("step%d/out", i)], gatol, grtol), "step %d: output", i)
	}
	for _, k := range []string{"running_mean", "running_var", "num_batches_tracked"} {
		assert.Empty(t, closeTo(nn.StateDict(bn)[k], g["after/"+k], gatol, grtol), "%s after 4 steps", k)
	}
	nn.SetTraining(bn, false)
	before := nn.StateDict(bn).Clone()
	x := autograd.Const(g["eval/x"])
	assert.Empty(t, closeTo(bn.Forward(x).Value, g["eval/out"], gatol, grtol), "eval output")
	bn.AlwaysBatchStats = true
	assert.Empty(t, closeTo(bn.Forward(x).Value, g["batchstats/out"], gatol, grtol), "eval output with AlwaysBatchStats")
	equalStates(t, nn.StateDict(bn), before) // evaluation never moves the running statistics
}
