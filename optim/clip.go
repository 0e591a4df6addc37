package optim

import (
	"fmt"
	"math"
)

// ClipGradNorm scales the gradients of params so that their global L2 norm
// (the norm of all their elements together) is at most maxNorm, and returns
// the norm before clipping, as PyTorch's clip_grad_norm_ does: when the
// norm exceeds maxNorm the gradients are multiplied by
// maxNorm/(norm + 1e-6). Frozen parameters and nil gradients are skipped.
// The sum of squares is accumulated in float64.
//
// If the norm is NaN or infinite the gradients are left unchanged and the
// norm is returned, for the caller to detect.
//
// It panics if maxNorm is negative or NaN.
func ClipGradNorm(params []NamedParam, maxNorm float64) float64 {
	if !(maxNorm >= 0) {
		panic(fmt.Sprintf("optim: ClipGradNorm: maxNorm %v is not >= 0", maxNorm))
	}
	var ss float64
	for _, np := range params {
		p := np.Param
		if p == nil || p.Frozen() || p.Grad == nil {
			continue
		}
		for _, x := range p.Grad.Data() {
			ss += float64(x) * float64(x)
		}
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	coef := maxNorm / (norm + 1e-6)
	if coef >= 1 {
		return norm
	}
	c := float32(coef)
	for _, np := range params {
		p := np.Param
		if p == nil || p.Frozen() || p.Grad == nil {
			continue
		}
		g := p.Grad.Data()
		for i := range g {
			g[i] *= c
		}
	}
	return norm
}
