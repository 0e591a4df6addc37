package optim

import (
	"fmt"
	"math"
)

// AdamConfig holds the hyper-parameters of one group of Adam or AdamW.
// Every field is taken as given, zero included (Beta1 = 0 is common for
// GANs), so start from DefaultAdam or DefaultAdamW, or set every field; a
// config without Eps is refused rather than left to make NaN weights.
type AdamConfig struct {
	// LR is the learning rate.
	LR float64
	// Beta1 and Beta2 are the decay rates of the running averages of the
	// gradient and of its square, in [0, 1).
	Beta1, Beta2 float64
	// Eps is added to the denominator for numerical stability. It must
	// be positive: a zero Eps turns a zero gradient into NaN weights.
	Eps float64
	// WeightDecay is the L2 penalty added to the gradient (Adam) or the
	// decoupled decay rate (AdamW).
	WeightDecay float64
	// AMSGrad divides by the running maximum of v instead of v (Reddi et
	// al.), keeping it as state "max_exp_avg_sq".
	AMSGrad bool
}

// DefaultAdam returns PyTorch's defaults for torch.optim.Adam: lr 1e-3,
// betas (0.9, 0.999), eps 1e-8, no weight decay. The transfer paper trains
// with LR 1e-4 and betas (0, 0.9).
func DefaultAdam() AdamConfig {
	return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// DefaultAdamW returns PyTorch's defaults for torch.optim.AdamW: those of
// Adam with weight decay 1e-2.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 1e-2
	return c
}

func (c *AdamConfig) check() string {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Sprintf("learning rate %v is not a finite number >= 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Sprintf("Beta1 %v is not in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Sprintf("Beta2 %v is not in [0, 1)", c.Beta2)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Sprintf("Eps %v is not a finite number > 0 (with 0 a zero gradient gives 0/0, NaN weights; PyTorch's default is 1e-8, as in DefaultAdam)", c.Eps)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Sprintf("WeightDecay %v is not a finite number >= 0", c.WeightDecay)
	}
	return ""
}

// Adam is the Adam optimizer (Kingma and Ba), or AdamW (Loshchilov and
// Hutter) when made by NewAdamW, with the update of PyTorch 1.13's
// torch.optim.Adam and AdamW (amsgrad and maximize off). For each parameter
// w with gradient g, at its step t (counted from 1):
//
//	g ← g + wd·w                           (Adam: L2 penalty)
//	w ← w·(1 − lr·wd)                      (AdamW: decoupled decay)
//	m ← β1·m + (1 − β1)·g
//	v ← β2·v + (1 − β2)·g²
//	v̂ ← max(v̂, v), used for v below         (AMSGrad)
//	w ← w − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
//
// Its state per parameter is m ("exp_avg"), v ("exp_avg_sq"), v̂
// ("max_exp_avg_sq", with AMSGrad) and t. Its groups' hyper-parameters (C in
// AddGroup and Config) are AdamConfig values.
type Adam struct {
	core[AdamConfig]
}

func adamKind(name string, decoupled bool) *kind[AdamConfig] {
	return &kind[AdamConfig]{
		name:     name,
		bufNames: []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
		lr:       func(c *AdamConfig) *float64 { return &c.LR },
		check:    (*AdamConfig).check,
		needs:    func(c *AdamConfig, i int) bool { return i < adamMax || c.AMSGrad },
		update: func(c *AdamConfig, s *slot) {
			adamUpdate(c, s, decoupled)
		},
	}
}

// adamMax is the index of the AMSGrad buffer.
const adamMax = 2

var (
	kindAdam  = adamKind("Adam", false)
	kindAdamW = adamKind("AdamW", true)
)

// NewAdam returns an Adam optimizer over params, which form group 0 with
// hyper-parameters cfg.
//
// It panics if cfg is invalid (a negative or non-finite rate, a beta
// outside [0, 1)), if params is empty, or if a name is empty or repeated,
// or a parameter nil or given twice.
func NewAdam(params []NamedParam, cfg AdamConfig) *Adam {
	a := &Adam{core[AdamConfig]{k: kindAdam}}
	a.AddGroup(params, cfg)
	return a
}

// NewAdamW returns an AdamW optimizer (Adam with decoupled weight decay)
// over params, which form group 0 with hyper-parameters cfg. Its State is
// marked "AdamW" and does not load into Adam, nor Adam's into it.
//
// It panics as NewAdam does.
func NewAdamW(params []NamedParam, cfg AdamConfig) *Adam {
	a := &Adam{core[AdamConfig]{k: kindAdamW}}
	a.AddGroup(params, cfg)
	return a
}

func adamUpdate(c *AdamConfig, s *slot, decoupled bool) {
	w, g := s.p.Value.Data(), s.p.Grad.Data()
	m, v := s.buf(0), s.buf(1)
	m, v = m[:len(w)], v[:len(w)]
	g = g[:len(w)]

	t := float64(s.step)
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	negStep := float32(-(c.LR / bc1))
	bc2Sqrt := float32(math.Sqrt(bc2))
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	c1, c2 := float32(1-c.Beta1), float32(1-c.Beta2)
	eps := float32(c.Eps)
	wd := float32(c.WeightDecay)
	l2 := !decoupled && c.WeightDecay != 0

	if decoupled {
		// PyTorch multiplies even when the factor is 1.
		f := float32(1 - c.LR*c.WeightDecay)
		for i := range w {
			w[i] *= f
		}
	}
	if c.AMSGrad {
		adamAMSGrad(w, g, m, v, s.buf(adamMax)[:len(w)], l2, wd, b1, b2, c1, c2, bc2Sqrt, eps, negStep)
		return
	}
	for i := range w {
		gi := g[i]
		if l2 {
			gi = fma32(wd, w[i], gi)
		}
		mi := fma32(c1, gi, m[i]*b1)
		vi := fma32(c2*gi, gi, v[i]*b2)
		m[i], v[i] = mi, vi
		denom := sqrt32(vi)/bc2Sqrt + eps
		w[i] += (negStep * mi) / denom
	}
}

// adamAMSGrad is Adam's loop with the running maximum vmax of v.
func adamAMSGrad(w, g, m, v, vmax []float32, l2 bool, wd, b1, b2, c1, c2, bc2Sqrt, eps, negStep float32) {
	for i := range w {
		gi := g[i]
		if l2 {
			gi = fma32(wd, w[i], gi)
		}
		mi := fma32(c1, gi, m[i]*b1)
		vi := fma32(c2*gi, gi, v[i]*b2)
		m[i], v[i] = mi, vi
		mx := vmax[i]
		if vi > mx || vi != vi { // torch.maximum propagates NaN
			mx = vi
		}
		vmax[i] = mx
		denom := sqrt32(mx)/bc2Sqrt + eps
		w[i] += (negStep * mi) / denom
	}
}
