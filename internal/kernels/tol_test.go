package kernels

import (
	"fmt"
	"math"
)

// The tolerances of this package's tests, stated once, as bounds on
// |got - want| / (1 + |want|) (see closeTo). GEMM's conformance suite sets
// its own per case (runGemmCase), from k and the magnitudes summed.
const (
	tolBias  = 1e-5 // a bias added inside a kernel against one added after it
	tolConv  = 1e-4 // a convolution against a float64 naive sum; an adjoint identity (absolute)
	tolWGrad = 1e-3 // weight gradients, summed over the batch as well
)

// closeTo compares got with want element by element, |got - want| <=
// tol·(1 + |want|), and describes the worst element and how many are
// beyond tol, or returns "" when all are within it. A NaN on either side
// counts as beyond. It is the package's one comparison of float32 slices
// with a tolerance; its callers assert that it is empty.
func closeTo(got, want []float32, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d values, want %d", len(got), len(want))
	}
	bad, worst, at := 0, 0.0, -1
	for i, w := range want {
		e := math.Abs(float64(got[i])-float64(w)) / (1 + math.Abs(float64(w)))
		if !(e <= tol) {
			bad++
			if at < 0 || e > worst || math.IsNaN(e) {
				worst, at = e, i
			}
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d values beyond %.0e; worst [%d] = %v, want %v (%.3g)", bad, len(want), tol, at, got[at], want[at], worst)
}
