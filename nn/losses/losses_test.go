package losses_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn/losses"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tolerances of this package's tests, stated once.
const (
	tol     = 1e-5 // float32 values of a loss or a penalty against closed forms
	tolGrad = 1e-4 // a penalty's gradient, through the double-backward graph
)

// A linear critic D(x) = Σ w·x + b has ∇D = w for every image, so the
// penalty is λ(‖w‖ − 1)² whatever the interpolates.
func TestGradientPenaltyLinearCritic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := autograd.Leaf(tensor.RandN(r, 1, 2, 3, 3))
	critic := func(x *autograd.Var) *autograd.Var { return autograd.Sum(autograd.Mul(x, w), false, 1, 2, 3) }
	real, fake := tensor.RandN(r, 5, 2, 3, 3), tensor.RandN(r, 5, 2, 3, 3)
	p := losses.GradientPenalty(critic, real, fake, 10, r)
	var n float64
	for _, v := range w.Value.Data() {
		n += float64(v) * float64(v)
	}
	want := 10 * math.Pow(math.Sqrt(n)-1, 2)
	assert.InDelta(t, want, float64(p.Loss.Item()), tol*want)
	for _, v := range p.Norms.Data() {
		assert.InDelta(t, math.Sqrt(n), float64(v), tol)
	}
	// Its gradient with respect to w is 2λ(‖w‖ − 1)·w/‖w‖.
	g := autograd.Grad(p.Loss, []*autograd.Var{w})[0]
	for i, v := range w.Value.Data() {
		assert.InDelta(t, 20*(math.Sqrt(n)-1)*float64(v)/math.Sqrt(n), float64(g.Value.Data()[i]), tolGrad)
	}
}

// Where a critic's gradient is exactly zero for an image, the penalty is λ
// for it and its gradient is finite (0 through that image).
func TestGradientPenaltyZeroGradientIsFinite(t *testing.T) {
	w := autograd.Leaf(tensor.FromSlice([]float32{0.5}, 1))
	// D(x) = w·relu(x[0]): zero gradient for images whose first pixel is < 0.
	critic := func(x *autograd.Var) *autograd.Var {
		first := autograd.Reshape(autograd.Slice(autograd.Reshape(x, x.Value.Dim(0), -1), 1, 0, 1), -1)
		return autograd.Mul(autograd.ReLU(first), w)
	}
	x := tensor.FromSlice([]float32{-1, 2, 3, 1, 2, 3}, 2, 3)
	p := losses.GradientPenaltyAt(critic, x, 10)
	assert.InDelta(t, 0.0, float64(p.Norms.Data()[0]), 0)
	assert.InDelta(t, 0.5, float64(p.Norms.Data()[1]), tol)
	// mean of λ(0−1)² and λ(0.5−1)².
	assert.InDelta(t, (10+2.5)/2, float64(p.Loss.Item()), tol)
	g := autograd.Grad(p.Loss, []*autograd.Var{w})[0].Value.Item()
	require.False(t, math.IsNaN(float64(g)) || math.IsInf(float64(g), 0), "gradient %v", g)
	// Only the second image contributes: d/dw ½λ(w−1)² = λ(w−1)/1 · ½·2.
	assert.InDelta(t, 10*(0.5-1), float64(g), tol)
}

func TestR1(t *testing.T) {
	w := autograd.Leaf(tensor.FromSlice([]float32{3, 4}, 1, 2))
	critic := func(x *autograd.Var) *autograd.Var { return autograd.Sum(autograd.Mul(x, w), false, 1) }
	p := losses.R1(critic, tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2), 2)
	assert.InDelta(t, 25, float64(p.Loss.Item()), tol) // γ/2·‖w‖² with γ = 2
	assert.InDelta(t, 5, p.MeanNorm(), tol)
}

func TestAdversarialLosses(t *testing.T) {
	real := autograd.Const(tensor.FromSlice([]float32{2, -0.5}, 2, 1))
	fake := autograd.Const(tensor.FromSlice([]float32{0.5, -3}, 2, 1))
	sp := func(x float64) float64 { return math.Log1p(math.Exp(x)) }
	for _, tc := range []struct {
		name string
		got  *autograd.Var
		want float64
	}{
		{"WassersteinD", losses.WassersteinD(real, fake), (0.5-3)/2 - (2-0.5)/2},
		{"WassersteinG", losses.WassersteinG(fake), -(0.5 - 3) / 2},
		{"HingeD", losses.HingeD(real, fake), (0+1.5)/2 + (1.5+0)/2},
		{"HingeG", losses.HingeG(fake), 1.25},
		{"NonSaturatingD", losses.NonSaturatingD(real, fake), (sp(-2)+sp(0.5))/2 + (sp(0.5)+sp(-3))/2},
		{"NonSaturatingG", losses.NonSaturatingG(fake), (sp(-0.5) + sp(3)) / 2},
	} {
		assert.InDelta(t, tc.want, float64(tc.got.Item()), tol, tc.name)
	}
}

func TestCrossEntropy(t *testing.T) {
	logits := autograd.Const(tensor.FromSlice([]float32{1, 2, 3, 0, 0, 0}, 2, 3))
	ce := losses.CrossEntropy(logits, []int{2, 0})
	lse := math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3))
	want := ((lse - 3) + math.Log(3)) / 2
	assert.InDelta(t, want, float64(ce.Item()), tol)
	assert.Panics(t, func() { losses.CrossEntropy(logits, []int{3, 0}) })
	assert.Panics(t, func() { losses.CrossEntropy(logits, []int{1}) })
}

func TestPanicsNameTheProblem(t *testing.T) {
	critic := func(x *autograd.Var) *autograd.Var { return x }
	assert.PanicsWithValue(t, "losses: GradientPenalty: real [2 3], fake [3 3]; want the same shape [N, ...]", func() {
		losses.GradientPenalty(critic, tensor.New(2, 3), tensor.New(3, 3), 10, rand.New(rand.NewPCG(1, 1)))
	})
	assert.Panics(t, func() { losses.GradientPenaltyAt(critic, tensor.New(2, 3), 10) }) // [2 3] scores for 2 images
}
