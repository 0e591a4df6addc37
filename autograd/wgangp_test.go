package autograd

import (
	"testing"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// critic is the small conv critic of testdata/wgangp_critic.json, built
// from autograd ops alone: conv0 → LN → ReLU → conv1 → avgpool → LN → ReLU →
// conv2 (stride 2) → flatten → fc.
type critic struct{ p map[string]*Var }

func newCritic(t *testing.T, f *golden.File) critic {
	c := critic{p: map[string]*Var{}}
	for _, k := range f.Meta["params"].([]any) {
		name := k.(string)
		c.p[name] = Leaf(gt(t, f, name))
	}
	return c
}

func (c critic) params() (names []string, vars []*Var) {
	for _, n := range []string{"conv0.weight", "conv0.bias", "ln1.weight", "ln1.bias", "conv1.weight",
		"ln2.weight", "ln2.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"} {
		names = append(names, n)
		vars = append(vars, c.p[n])
	}
	return names, vars
}

func chanVec(v *Var) *Var { return Reshape(v, 1, -1, 1, 1) }

// layerNorm normalises each sample over (C,H,W) with the biased variance,
// then applies per-channel scale and offset.
func layerNorm(h, w, b *Var) *Var {
	m := Mean(h, true, 1, 2, 3)
	v := Variance(h, true, 1, 2, 3)
	n := Div(Sub(h, m), Sqrt(AddScalar(v, 1e-5)))
	return Add(Mul(n, chanVec(w)), chanVec(b))
}

func (c critic) forward(x *Var) *Var {
	p := c.p
	pad1 := tensor.ConvParams{Padding: [2]int{1, 1}}
	h := Add(Conv2d(x, p["conv0.weight"], pad1), chanVec(p["conv0.bias"]))
	h = ReLU(layerNorm(h, p["ln1.weight"], p["ln1.bias"]))
	h = AvgPool2d(Conv2d(h, p["conv1.weight"], pad1), tensor.Window(2))
	h = ReLU(layerNorm(h, p["ln2.weight"], p["ln2.bias"]))
	h = Add(Conv2d(h, p["conv2.weight"], tensor.ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}), chanVec(p["conv2.bias"]))
	return Add(MatMulT(Flatten(h), p["fc.weight"], false, true), p["fc.bias"])
}

// gradientPenalty is λ·mean((‖∇D(x̂)‖ - 1)²) with per-sample interpolation.
func gradientPenalty(c critic, real, fake, eps *Var) (gp, xhat, gx *Var) {
	xhat = Add(Mul(eps, real), Mul(AddScalar(Neg(eps), 1), fake))
	gx = Grad(Sum(c.forward(xhat), false), []*Var{xhat}, CreateGraph())[0]
	norm := Norm(gx, false, 1, 2, 3)
	return Scale(Mean(Square(AddScalar(norm, -1)), false), 10), xhat, gx
}

func TestGoldenWGANGP(t *testing.T) {
	f := loadGolden(t, "wgangp_critic.json")
	c := newCritic(t, f)
	real, fake := Leaf(gt(t, f, "real")), Leaf(gt(t, f, "fake"))
	eps := Const(gt(t, f, "eps"))
	const rel = tolCritic

	closeTo(t, "d_real", c.forward(real).Value, gt(t, f, "d_real"), rel)
	gp, xhat, gx := gradientPenalty(c, real, fake, eps)
	closeTo(t, "x_hat", xhat.Value, gt(t, f, "x_hat"), rel)
	closeTo(t, "grad_x_hat", gx.Value, gt(t, f, "grad_x_hat"), rel)
	closeTo(t, "gp", gp.Value, gt(t, f, "gp"), rel)

	names, params := c.params()
	wrt := append(append([]*Var{}, params...), real, fake)
	ggp := Grad(gp, wrt)
	for i, n := range names {
		closeTo(t, "grad_gp."+n, ggp[i].Value, gt(t, f, "grad_gp."+n), rel)
	}
	closeTo(t, "grad_gp.real", ggp[len(params)].Value, gt(t, f, "grad_gp.real"), rel)
	closeTo(t, "grad_gp.fake", ggp[len(params)+1].Value, gt(t, f, "grad_gp.fake"), rel)

	// The critic's full loss, through Backward as a trainer uses it.
	gp2, _, _ := gradientPenalty(c, real, fake, eps)
	loss := Add(Sub(MeanAll(c.forward(fake)), MeanAll(c.forward(real))), gp2)
	closeTo(t, "loss", loss.Value, gt(t, f, "loss"), rel)
	Backward(loss)
	for i, n := range names {
		want := gt(t, f, "grad_loss."+n)
		if !assert.NotNil(t, params[i].Grad, "grad_loss.%s: Backward left Grad nil", n) {
			continue
		}
		// Biases whose loss gradient is exactly zero in theory come out as
		// float32 rounding noise: closeTo's floor makes this |grad| <= 1e-6.
		if tensor.AllClose(want, tensor.ZerosLike(want), 0, 0) {
			closeTo(t, "grad_loss."+n, params[i].Grad, want, 1)
			continue
		}
		closeTo(t, "grad_loss."+n, params[i].Grad, want, rel)
	}
	closeTo(t, "grad_loss.real", real.Grad, gt(t, f, "grad_loss.real"), rel)
}
