package metrics_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/tensor"
	"gonum.org/v1/gonum/mat"
)

// The Fréchet distance of two Gaussians with diagonal covariances is
// ‖Δμ‖² + Σ(√a − √b)².
func ExampleFrechetDistance() {
	s1 := mat.NewSymDense(2, []float64{4, 0, 0, 1})
	s2 := mat.NewSymDense(2, []float64{1, 0, 0, 1})
	fmt.Printf("%.6f\n", metrics.FrechetDistance([]float64{0, 0}, s1, []float64{1, 0}, s2))
	// Output: 2.000000
}

// Measuring a generator against a dataset: any function returning images is
// a Sampler.
func ExampleEvaluate() {
	r := rand.New(rand.NewPCG(1, 2))
	real := data.FromTensor(tensor.RandU(r, -1, 1, 200, 1, 4, 4), nil, nil)
	gen := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.RandU(r, -1, 1, n, 1, 4, 4) }
	rep := metrics.Evaluate(metrics.Pixels{C: 1, H: 4, W: 4}, real, gen, 200, r,
		metrics.Options{KID: metrics.KIDOptions{Subsets: 10, SubsetSize: 100}})
	fmt.Println(rep.FID.Metric, rep.FID.Extractor, rep.FID.N1, rep.FID.N2)
	fmt.Println(rep.KID.Subsets, rep.KID.SubsetSize, rep.Precision.K)
	// Output:
	// FID pixels 200 200
	// 10 100 3
}
