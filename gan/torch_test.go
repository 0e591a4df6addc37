package gan_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/nn/losses"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/require"
)

// The golden files come from scripts/torch/gen_gan_golden.py: checkpoints
// written by the PyTorch twin (scripts/torch/paper_gan.py) after two training
// iterations, and the values PyTorch computes with them in float64.
const (
	torchGolden = "testdata/torch_golden.safetensors"
	// torchTol bounds |gantry - PyTorch| for samples, scores, logits, the
	// penalty and its norms.
	torchTol = 1e-5
	// torchRelTol bounds the difference of losses and running statistics
	// relative to the largest magnitude of the golden tensor (at least 1).
	torchRelTol = 1e-5
	// torchGradTol is torchRelTol for gradients. They pass through batch
	// norms whose statistics cover only N values per channel at the 1×1
	// start of a 16×16 model, which amplifies float32 rounding: the plain-Go
	// kernels (-tags noasm) differ from PyTorch by 1.6e-5 relative there.
	torchGradTol = 1e-4
)

func maxAbsDiff(t *testing.T, what string, got, want *tensor.Tensor) float64 {
	t.Helper()
	require.Equal(t, want.Len(), got.Len(), "%s: %v values, want %v", what, got.Shape(), want.Shape())
	worst := 0.0
	for i, w := range want.Data() {
		d := math.Abs(float64(got.Data()[i]) - float64(w))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst
}

func maxAbs(x *tensor.Tensor) float64 {
	m := 0.0
	for _, v := range x.Data() {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

func ints(x *tensor.Tensor) []int {
	if x == nil {
		return nil
	}
	out := make([]int, x.Len())
	for i, v := range x.Data() {
		out[i] = int(v)
	}
	return out
}

func param(t *testing.T, m any, name string) *autograd.Var {
	t.Helper()
	for n, p := range nn.Parameters(m) {
		if n == name {
			return p.Var
		}
	}
	t.Fatalf("no parameter %q", name)
	return nil
}

// TestTorchTwin loads checkpoints written by the PyTorch twin with gan.Load
// and reproduces PyTorch's samples (batch statistics), critic scores and
// class logits, gradient penalty, both losses with their gradients, and the
// batch norms' running statistics after one training-mode forward.
func TestTorchTwin(t *testing.T) {
	gold, meta, err := nn.LoadFile(torchGolden)
	require.NoError(t, err)
	for _, name := range []string{"uncond", "condbn", "concat"} {
		t.Run(name, func(t *testing.T) {
			g := gold.WithPrefix(name + ".")
			m, err := gan.Load("testdata/torch_" + name + ".safetensors")
			require.NoError(t, err)
			var cfg gan.Config
			require.NoError(t, json.Unmarshal([]byte(meta[name+".config"]), &cfg))
			require.Equal(t, cfg.WithDefaults(), m.Config)
			labels, realLabels := ints(g["labels"]), ints(g["real_labels"])
			diffs := map[string]float64{}
			check := func(what string, got, want *tensor.Tensor, tol float64) {
				t.Helper()
				require.NotNil(t, want, "golden %s", what)
				d := maxAbsDiff(t, what, got, want)
				diffs[what] = d
				if d > tol {
					t.Errorf("%s: max |gantry - PyTorch| = %.3g > %.3g", what, d, tol)
				}
			}
			rel := func(want *tensor.Tensor) float64 { return torchRelTol * max(1, maxAbs(want)) }
			relGrad := func(want *tensor.Tensor) float64 { return torchGradTol * max(1, maxAbs(want)) }

			// Samples with batch statistics, without touching running stats.
			before := nn.StateDict(m.G).Clone()
			check("gen", m.G.Generate(g["z"], labels), g["gen"], torchTol)
			for k, v := range nn.StateDict(m.G) {
				require.True(t, tensor.Equal(v, before[k]), "Generate changed %s", k)
			}

			// Critic scores and class logits.
			for _, x := range []string{"gen", "real", "xhat"} {
				var s, l *autograd.Var
				autograd.NoGrad(func() { s, l = m.D.ForwardClasses(autograd.Const(g[x])) })
				check("scores_"+x, s.Value, g["scores_"+x], torchTol)
				if cfg.Classes > 0 {
					check("logits_"+x, l.Value, g["logits_"+x], torchTol)
				} else {
					require.Nil(t, l)
				}
			}

			// The gradient penalty at fixed interpolates.
			pen := losses.GradientPenaltyAt(m.D.Forward, g["xhat"], 10)
			check("gp", pen.Loss.Value, g["gp"], torchTol)
			check("gp_norms", pen.Norms, g["gp_norms"], torchTol)

			// The critic's loss of one WGAN-GP step and its gradient (through
			// the penalty's double backward).
			sr, lr := m.D.ForwardClasses(autograd.Const(g["real"]))
			sf, _ := m.D.ForwardClasses(autograd.Const(g["gen"]))
			lossD := autograd.Add(losses.WassersteinD(sr, sf), losses.GradientPenaltyAt(m.D.Forward, g["xhat"], 10).Loss)
			if cfg.Classes > 0 {
				lossD = autograd.Add(lossD, losses.CrossEntropy(lr, realLabels))
			}
			check("loss_d", lossD.Value, g["loss_d"], rel(g["loss_d"]))
			dNames := []string{"input.weight", "output.weight"}
			dVars := []*autograd.Var{param(t, m.D, dNames[0]), param(t, m.D, dNames[1])}
			for i, gr := range autograd.Grad(lossD, dVars) {
				want := g["grad_d."+dNames[i]]
				check("grad_d."+dNames[i], gr.Value, want, relGrad(want))
			}

			// The generator's loss in training mode, its gradient, and the
			// running statistics that one forward leaves.
			nn.SetTraining(m.G, true)
			fake := m.G.ForwardLabels(autograd.Const(g["z"]), labels)
			s, l := m.D.ForwardClasses(fake)
			lossG := losses.WassersteinG(s)
			if cfg.Classes > 0 {
				lossG = autograd.Add(lossG, losses.CrossEntropy(l, labels))
			}
			check("loss_g", lossG.Value, g["loss_g"], rel(g["loss_g"]))
			gNames := []string{"blocks.0.norm1.weight", "output.weight"}
			gVars := []*autograd.Var{param(t, m.G, gNames[0]), param(t, m.G, gNames[1])}
			for i, gr := range autograd.Grad(lossG, gVars) {
				want := g["grad_g."+gNames[i]]
				check("grad_g."+gNames[i], gr.Value, want, relGrad(want))
			}
			sd := nn.StateDict(m.G)
			for _, k := range []string{"norm", "blocks.0.norm1"} {
				for _, b := range []string{"running_mean", "running_var", "num_batches_tracked"} {
					want := g["train.g."+k+"."+b]
					check("train."+k+"."+b, sd[k+"."+b], want, rel(want))
				}
			}

			keys := make([]string, 0, len(diffs))
			for k := range diffs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			msg := ""
			for _, k := range keys {
				msg += fmt.Sprintf(" %s=%.2g", k, diffs[k])
			}
			t.Logf("%s max |gantry - PyTorch|:%s", cfg, msg)
		})
	}
}
