package losses

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// Critic scores images: it maps [N, C, H, W] to [N] or [N, 1].
type Critic func(x *autograd.Var) *autograd.Var

// scores flattens a critic's output to [N], checking that it holds one score
// per image.
func scores(op string, critic Critic, x *autograd.Var) *autograd.Var {
	s := critic(x)
	n := x.Value.Dim(0)
	if s.Value.Len() != n || (s.Value.Dims() != 1 && (s.Value.Dims() != 2 || s.Value.Dim(1) != 1)) {
		panic(fmt.Sprintf("losses: %s: critic returned %v for %d images; want [%d] or [%d 1]", op, s.Value.Shape(), n, n, n))
	}
	return autograd.Reshape(s, n)
}

// Penalty is a gradient penalty with the per-image gradient norms it was
// computed from.
type Penalty struct {
	// Loss is the weighted penalty, a scalar to add to the critic's loss.
	Loss *autograd.Var
	// Norms holds ‖∇D‖ of each image [N], as plain values.
	Norms *tensor.Tensor
}

// MeanNorm returns the mean of p.Norms.
func (p Penalty) MeanNorm() float64 {
	var s float64
	for _, v := range p.Norms.Data() {
		s += float64(v)
	}
	return s / float64(p.Norms.Len())
}

// GradientPenalty returns WGAN-GP's penalty λ·mean((‖∇D(x̂)‖ − 1)²) on
// interpolates x̂ = real + α(fake − real), with one α ~ U[0, 1] per image
// drawn from r. real and fake are constants (no gradient flows into them);
// the penalty's graph reaches the critic's parameters.
//
// It panics if real and fake differ in shape or are not [N, C, H, W]-like
// (at least 2 axes), if r is nil, or if critic does not return one score per
// image.
func GradientPenalty(critic Critic, real, fake *tensor.Tensor, lambda float64, r *rand.Rand) Penalty {
	if !slices.Equal(real.Shape(), fake.Shape()) || real.Dims() < 2 {
		panic(fmt.Sprintf("losses: GradientPenalty: real %v, fake %v; want the same shape [N, ...]", real.Shape(), fake.Shape()))
	}
	if r == nil {
		panic("losses: GradientPenalty: nil *rand.Rand")
	}
	shape := make([]int, real.Dims())
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = real.Dim(0)
	alpha := tensor.RandU(r, 0, 1, shape...)
	xhat := tensor.Add(real, tensor.Mul(alpha, tensor.Sub(fake, real)))
	return GradientPenaltyAt(critic, xhat, lambda)
}

// GradientPenaltyAt returns the penalty λ·mean((‖∇D(x)‖ − 1)²) at the given
// points x (already interpolated), the norm taken per image over every axis
// but the first.
//
// It panics if x has fewer than 2 axes or critic does not return one score
// per image.
func GradientPenaltyAt(critic Critic, x *tensor.Tensor, lambda float64) Penalty {
	if x.Dims() < 2 {
		panic(fmt.Sprintf("losses: GradientPenaltyAt: points %v; want [N, ...]", x.Shape()))
	}
	xv := autograd.Leaf(x)
	g := autograd.Grad(autograd.Sum(scores("GradientPenaltyAt", critic, xv), false), []*autograd.Var{xv}, autograd.CreateGraph())[0]
	norm := perImageNorm(g)
	loss := autograd.Scale(autograd.MeanAll(autograd.Square(autograd.AddScalar(norm, -1))), float32(lambda))
	return Penalty{Loss: loss, Norms: norm.Value.Clone()}
}

// perImageNorm returns the Euclidean norm of each image of g over all its
// other axes, with a zero (not NaN) gradient where the norm is 0.
func perImageNorm(g *autograd.Var) *autograd.Var {
	axes := make([]int, g.Value.Dims()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	sq := autograd.Sum(autograd.Square(g), false, axes...)
	pos := tensor.New(sq.Value.Shape()...)
	pd, sd := pos.Data(), sq.Value.Data()
	zero := false
	for i, v := range sd {
		if v > 0 {
			pd[i] = 1
		} else {
			zero = true
		}
	}
	if !zero {
		return autograd.Sqrt(sq)
	}
	// Take the square root of 1 where the sum is 0, then select 0 there: the
	// value is the same and the gradient through those images is 0.
	ones := autograd.Const(tensor.Ones(sq.Value.Shape()...))
	safe := autograd.Where(pos, sq, ones)
	return autograd.Where(pos, autograd.Sqrt(safe), autograd.Const(tensor.New(sq.Value.Shape()...)))
}

// R1 returns the R1 penalty of Mescheder et al. (2018), γ/2 · mean(‖∇D(x)‖²)
// on real images x, the regulariser of the non-saturating loss.
//
// It panics if real has fewer than 2 axes or critic does not return one
// score per image.
func R1(critic Critic, real *tensor.Tensor, gamma float64) Penalty {
	if real.Dims() < 2 {
		panic(fmt.Sprintf("losses: R1: images %v; want [N, ...]", real.Shape()))
	}
	xv := autograd.Leaf(real)
	g := autograd.Grad(autograd.Sum(scores("R1", critic, xv), false), []*autograd.Var{xv}, autograd.CreateGraph())[0]
	axes := make([]int, g.Value.Dims()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	sq := autograd.Sum(autograd.Square(g), false, axes...)
	loss := autograd.Scale(autograd.MeanAll(sq), float32(gamma/2))
	return Penalty{Loss: loss, Norms: tensor.Sqrt(sq.Value)}
}

// WassersteinD returns the critic's Wasserstein loss mean(D(fake)) −
// mean(D(real)) from the two batches' scores.
func WassersteinD(real, fake *autograd.Var) *autograd.Var {
	return autograd.Sub(autograd.MeanAll(fake), autograd.MeanAll(real))
}

// WassersteinG returns the generator's Wasserstein loss −mean(D(fake)).
func WassersteinG(fake *autograd.Var) *autograd.Var { return autograd.Neg(autograd.MeanAll(fake)) }

// HingeD returns the critic's hinge loss mean(relu(1 − D(real))) +
// mean(relu(1 + D(fake))) (Lim and Ye 2017; Miyato et al. 2018).
func HingeD(real, fake *autograd.Var) *autograd.Var {
	return autograd.Add(
		autograd.MeanAll(autograd.ReLU(autograd.AddScalar(autograd.Neg(real), 1))),
		autograd.MeanAll(autograd.ReLU(autograd.AddScalar(fake, 1))))
}

// HingeG returns the generator's hinge loss, −mean(D(fake)).
func HingeG(fake *autograd.Var) *autograd.Var { return WassersteinG(fake) }

// NonSaturatingD returns the critic's logistic loss mean(softplus(−D(real))) +
// mean(softplus(D(fake))) (Goodfellow et al. 2014).
func NonSaturatingD(real, fake *autograd.Var) *autograd.Var {
	return autograd.Add(
		autograd.MeanAll(autograd.Softplus(autograd.Neg(real))),
		autograd.MeanAll(autograd.Softplus(fake)))
}

// NonSaturatingG returns the generator's non-saturating loss
// mean(softplus(−D(fake))).
func NonSaturatingG(fake *autograd.Var) *autograd.Var {
	return autograd.MeanAll(autograd.Softplus(autograd.Neg(fake)))
}

// CrossEntropy returns the mean cross-entropy of logits [N, K] against class
// labels (each in [0, K)), as AC-GAN's auxiliary classifier uses it.
//
// It panics if logits is not [N, K] with N = len(labels) or a label is out of
// range.
func CrossEntropy(logits *autograd.Var, labels []int) *autograd.Var {
	if logits.Value.Dims() != 2 || logits.Value.Dim(0) != len(labels) {
		panic(fmt.Sprintf("losses: CrossEntropy: logits %v for %d labels; want [%d K]", logits.Value.Shape(), len(labels), len(labels)))
	}
	k := logits.Value.Dim(1)
	for i, y := range labels {
		if y < 0 || y >= k {
			panic(fmt.Sprintf("losses: CrossEntropy: label %d of sample %d; want [0, %d)", y, i, k))
		}
	}
	onehot := tensor.OneHot(labels, k)
	ll := autograd.Sum(autograd.Mul(autograd.LogSoftmax(logits, 1), autograd.Const(onehot)), false, 1)
	return autograd.Neg(autograd.MeanAll(ll))
}
