package optim

import "math"

// The element loops mirror the rounding of PyTorch's float32 CPU kernels,
// so that trajectories agree to a few units in the last place:
//
//   - x.add_(y, alpha=a) and x.addcmul_(y, z, value=a) round the last
//     multiply-add once (the kernels are compiled with FMA contraction);
//     fma32 reproduces that by working in float64, where the product of two
//     float32 values is exact.
//   - x.addcdiv_(y, z, value=a) rounds a*y, then the quotient, then the sum.
//   - Python-float coefficients become float32 before they reach the loop.

// fma32 returns a*b+c with the product exact and the sum rounded (through
// float64) to float32.
func fma32(a, b, c float32) float32 { return float32(float64(a)*float64(b) + float64(c)) }

// sqrt32 returns the correctly rounded float32 square root of x.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
