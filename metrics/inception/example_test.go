package inception_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/metrics/inception"
	"github.com/gantry-go/gantry/tensor"
)

// A *Net is a metrics.Extractor.
var _ metrics.Extractor = (*inception.Net)(nil)

// Load pytorch-fid's converted weights and measure the FID between two
// samplers (random stand-ins here for a generator and a dataset).
func ExampleLoadFile() {
	net, err := inception.LoadFile("inception-fid.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	noise := func(n int, r *rand.Rand) *tensor.Tensor { return tensor.RandU(r, -1, 1, n, 3, 32, 32) }
	r := rand.New(rand.NewPCG(1, 2))
	a := metrics.SampleFeatures(net, noise, 5000, r, metrics.Options{})
	b := metrics.SampleFeatures(net, noise, 5000, r, metrics.Options{})
	fmt.Println(metrics.FID(a.Stats(), b.Stats())) // FID (inception-v3-pytorch-fid features) = ...
}
