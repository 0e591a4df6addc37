package optim

import (
	"fmt"
	"math"
)

// RMSpropConfig holds the hyper-parameters of one group of RMSprop. Every
// field is taken as given; DefaultRMSprop returns PyTorch's defaults.
type RMSpropConfig struct {
	// LR is the learning rate.
	LR float64
	// Alpha is the decay rate of the running average of the squared
	// gradient, in [0, 1].
	Alpha float64
	// Eps is added to the denominator for numerical stability. It must
	// be positive: a zero Eps turns a zero gradient into NaN weights.
	Eps float64
	// WeightDecay is the L2 penalty added to the gradient.
	WeightDecay float64
	// Momentum is the momentum factor; 0 turns momentum off.
	Momentum float64
	// Centered divides by an estimate of the gradient's variance instead of
	// its second moment.
	Centered bool
}

// DefaultRMSprop returns torch.optim.RMSprop's defaults: lr 1e-2, alpha
// 0.99, eps 1e-8, no weight decay, no momentum, not centered. The original
// WGAN trains with lr 5e-5.
func DefaultRMSprop() RMSpropConfig {
	return RMSpropConfig{LR: 1e-2, Alpha: 0.99, Eps: 1e-8}
}

func (c *RMSpropConfig) check() string {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Sprintf("learning rate %v is not a finite number >= 0", c.LR)
	case !(c.Alpha >= 0 && c.Alpha <= 1):
		return fmt.Sprintf("Alpha %v is not in [0, 1]", c.Alpha)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Sprintf("Eps %v is not a finite number > 0 (with 0 a zero gradient gives 0/0, NaN weights; PyTorch's default is 1e-8, as in DefaultRMSprop)", c.Eps)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Sprintf("WeightDecay %v is not a finite number >= 0", c.WeightDecay)
	case !(c.Momentum >= 0) || math.IsInf(c.Momentum, 0):
		return fmt.Sprintf("Momentum %v is not a finite number >= 0", c.Momentum)
	}
	return ""
}

// RMSprop is the RMSprop optimizer (Hinton), with the update of PyTorch
// 1.13's torch.optim.RMSprop (maximize off). For each parameter w with
// gradient g:
//
//	g ← g + wd·w
//	s ← α·s + (1 − α)·g²
//	a ← α·a + (1 − α)·g,   d ← √(s − a²) + eps      (centered)
//	d ← √s + eps                                   (otherwise)
//	b ← μ·b + g/d,         w ← w − lr·b             (momentum μ > 0)
//	w ← w − lr·g/d                                 (otherwise)
//
// Its state per parameter is s ("square_avg"), a ("grad_avg", when
// centered), b ("momentum_buffer", when μ > 0) and the step count. Its
// groups' hyper-parameters (C in AddGroup and Config) are RMSpropConfig
// values.
type RMSprop struct {
	core[RMSpropConfig]
}

const (
	rmsSquare = iota
	rmsMomentum
	rmsGradAvg
)

var kindRMSprop = &kind[RMSpropConfig]{
	name:     "RMSprop",
	bufNames: []string{"square_avg", "momentum_buffer", "grad_avg"},
	lr:       func(c *RMSpropConfig) *float64 { return &c.LR },
	check:    (*RMSpropConfig).check,
	needs: func(c *RMSpropConfig, i int) bool {
		switch i {
		case rmsMomentum:
			return c.Momentum > 0
		case rmsGradAvg:
			return c.Centered
		}
		return true
	},
	update: rmspropUpdate,
}

// NewRMSprop returns an RMSprop optimizer over params, which form group 0
// with hyper-parameters cfg.
//
// It panics if cfg is invalid (a negative or non-finite rate, Alpha outside
// [0, 1]), if params is empty, or if a name is empty or repeated, or a
// parameter nil or given twice.
func NewRMSprop(params []NamedParam, cfg RMSpropConfig) *RMSprop {
	o := &RMSprop{core[RMSpropConfig]{k: kindRMSprop}}
	o.AddGroup(params, cfg)
	return o
}

func rmspropUpdate(c *RMSpropConfig, s *slot) {
	w, g := s.p.Value.Data(), s.p.Grad.Data()
	g = g[:len(w)]
	sq := s.buf(rmsSquare)[:len(w)]
	var ga, mb []float32
	if c.Centered {
		ga = s.buf(rmsGradAvg)[:len(w)]
	}
	momentum := c.Momentum > 0
	if momentum {
		mb = s.buf(rmsMomentum)[:len(w)]
	}
	alpha := float32(c.Alpha)
	c1 := float32(1 - c.Alpha)
	eps := float32(c.Eps)
	wd := float32(c.WeightDecay)
	l2 := c.WeightDecay != 0
	mu := float32(c.Momentum)
	negLR := float32(-c.LR)
	for i := range w {
		gi := g[i]
		if l2 {
			gi = fma32(wd, w[i], gi)
		}
		si := fma32(c1*gi, gi, sq[i]*alpha)
		sq[i] = si
		var d float32
		if c.Centered {
			ai := fma32(c1, gi, ga[i]*alpha)
			ga[i] = ai
			d = sqrt32(fma32(-ai, ai, si))
		} else {
			d = sqrt32(si)
		}
		d += eps
		if momentum {
			bi := float32(mb[i]*mu) + gi/d // no fused multiply-add here
			mb[i] = bi
			w[i] = fma32(negLR, bi, w[i])
		} else {
			w[i] += (negLR * gi) / d
		}
	}
}
