package optim

import (
	"fmt"
	"math"
)

// SGDConfig holds the hyper-parameters of one group of SGD. Every field is
// taken as given; DefaultSGD returns PyTorch's defaults.
type SGDConfig struct {
	// LR is the learning rate.
	LR float64
	// Momentum is the momentum factor; 0 turns momentum off.
	Momentum float64
	// Dampening scales the gradient added to the momentum buffer by
	// (1 − Dampening).
	Dampening float64
	// WeightDecay is the L2 penalty added to the gradient.
	WeightDecay float64
	// Nesterov uses Nesterov momentum; it needs Momentum > 0 and
	// Dampening = 0.
	Nesterov bool
}

// DefaultSGD returns torch.optim.SGD's defaults with lr: no momentum, no
// dampening, no weight decay. (PyTorch has no default learning rate.)
func DefaultSGD(lr float64) SGDConfig { return SGDConfig{LR: lr} }

func (c *SGDConfig) check() string {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Sprintf("learning rate %v is not a finite number >= 0", c.LR)
	case !(c.Momentum >= 0) || math.IsInf(c.Momentum, 0):
		return fmt.Sprintf("Momentum %v is not a finite number >= 0", c.Momentum)
	case math.IsNaN(c.Dampening) || math.IsInf(c.Dampening, 0):
		return fmt.Sprintf("Dampening %v is not finite", c.Dampening)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Sprintf("WeightDecay %v is not a finite number >= 0", c.WeightDecay)
	case c.Nesterov && (c.Momentum <= 0 || c.Dampening != 0):
		return fmt.Sprintf("Nesterov momentum needs Momentum > 0 and Dampening 0, have %v and %v", c.Momentum, c.Dampening)
	}
	return ""
}

// SGD is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum and L2 weight decay, with the update of PyTorch 1.13's
// torch.optim.SGD (maximize off). For each parameter w with gradient g:
//
//	g ← g + wd·w
//	b ← g at the first step, else μ·b + (1 − dampening)·g   (if μ ≠ 0)
//	g ← g + μ·b if Nesterov, else b                          (if μ ≠ 0)
//	w ← w − lr·g
//
// Its state per parameter is b ("momentum_buffer", kept only when
// Momentum ≠ 0) and the step count. Its groups' hyper-parameters (C in
// AddGroup and Config) are SGDConfig values.
type SGD struct {
	core[SGDConfig]
}

var kindSGD = &kind[SGDConfig]{
	name:     "SGD",
	bufNames: []string{"momentum_buffer"},
	lr:       func(c *SGDConfig) *float64 { return &c.LR },
	check:    (*SGDConfig).check,
	needs:    func(c *SGDConfig, _ int) bool { return c.Momentum != 0 },
	update:   sgdUpdate,
}

// NewSGD returns an SGD optimizer over params, which form group 0 with
// hyper-parameters cfg.
//
// It panics if cfg is invalid (a negative or non-finite rate, Nesterov
// without momentum or with dampening), if params is empty, or if a name is
// empty or repeated, or a parameter nil or given twice.
func NewSGD(params []NamedParam, cfg SGDConfig) *SGD {
	o := &SGD{core[SGDConfig]{k: kindSGD}}
	o.AddGroup(params, cfg)
	return o
}

func sgdUpdate(c *SGDConfig, s *slot) {
	w, g := s.p.Value.Data(), s.p.Grad.Data()
	g = g[:len(w)]
	negLR := float32(-c.LR)
	wd := float32(c.WeightDecay)
	l2 := c.WeightDecay != 0
	if c.Momentum == 0 {
		for i := range w {
			gi := g[i]
			if l2 {
				gi = fma32(wd, w[i], gi)
			}
			w[i] = fma32(negLR, gi, w[i])
		}
		return
	}
	// The buffer starts as a copy of the first gradient (PyTorch clones
	// it), so a freshly allocated one is filled rather than decayed.
	first := s.bufs[0] == nil
	b := s.buf(0)[:len(w)]
	mu := float32(c.Momentum)
	damp := float32(1 - c.Dampening)
	for i := range w {
		gi := g[i]
		if l2 {
			gi = fma32(wd, w[i], gi)
		}
		bi := gi
		if !first {
			bi = fma32(damp, gi, b[i]*mu)
		}
		b[i] = bi
		if c.Nesterov {
			gi = fma32(mu, bi, gi)
		} else {
			gi = bi
		}
		w[i] = fma32(negLR, gi, w[i])
	}
}
