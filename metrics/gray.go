package metrics

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/internal/graynet"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

//go:embed gray.safetensors
var grayWeights []byte

// GrayName is the name of the extractor Gray returns, and so the label of
// every result computed with it.
const GrayName = "gantry-gray"

// GrayExtractor is the domain feature extractor for small grayscale images
// (see Gray).
type GrayExtractor struct {
	net  *graynet.Net
	meta map[string]string
}

var (
	grayOnce sync.Once
	grayExt  *GrayExtractor
)

// Gray returns the "gantry-gray" extractor: a small convolutional classifier
// trained with gantry on the full MNIST and Fashion-MNIST training sets
// (120,000 images, 20 classes together), whose features are the
// 128-dimensional spatial mean of its last ReLU feature maps. It was trained
// on 28×28 and 32×32 images and suits grayscale images of about that size;
// RGB images are averaged to gray. Its test-set accuracy, recorded by the
// trainer (internal/cmd/graytrain) in the weights' metadata and returned
// by Meta, is
//
//	MNIST (the 10,000 test images):          98.93% at 28 px, 98.67% at 32 px
//	Fashion-MNIST (the 10,000 test images):  90.68% at 28 px, 90.18% at 32 px
//
// (6 epochs, seed 2018; rebuild with
// sh scripts/data/fetch_full.sh DIR, then
// go run ./internal/cmd/graytrain -epochs 6 -mnist DIR/mnist -fashion DIR/fashion-mnist.)
//
// Results computed on these features are labelled "gantry-gray"; they are
// not Inception FID and must not be compared with published FID values.
//
// The weights are embedded in the package and decoded once; Gray returns the
// same extractor every time. It panics if the embedded file is corrupt, a
// defect of the build.
func Gray() *GrayExtractor {
	grayOnce.Do(func() {
		sd, meta, err := nn.Load(bytes.NewReader(grayWeights))
		if err != nil {
			panic(fmt.Sprintf("metrics: Gray: embedded weights: %v", err))
		}
		net := graynet.New(nil)
		if err := nn.LoadStateDict(net, sd, nn.LoadOptions{}); err != nil {
			panic(fmt.Sprintf("metrics: Gray: embedded weights: %v", err))
		}
		for _, p := range nn.ParamList(net) {
			p.Freeze()
		}
		grayExt = &GrayExtractor{net: net, meta: meta}
	})
	return grayExt
}

// Name returns GrayName.
func (*GrayExtractor) Name() string { return GrayName }

// Dim returns 128.
func (*GrayExtractor) Dim() int { return graynet.FeatureDim }

// Meta returns the metadata of the weights: training epochs, seed and the
// test accuracy per set and resolution ("test_accuracy.mnist-28", ...).
// The caller must not modify it.
func (g *GrayExtractor) Meta() map[string]string { return g.meta }

// Features returns the [N, 128] features of [N, C, H, W] images in [-1, 1]
// (C is 1, or 3 for RGB images, averaged to gray). It records no graph and is
// safe for concurrent use.
//
// It panics if images is not four-dimensional with 1 or 3 channels.
func (g *GrayExtractor) Features(images *tensor.Tensor) *tensor.Tensor {
	if s := images.Shape(); len(s) != 4 || (s[1] != 1 && s[1] != 3) {
		panic(fmt.Sprintf("metrics: GrayExtractor.Features: images of shape %v; want [N, 1 or 3, H, W]", s))
	}
	// The network's parameters require gradients, so a graph is recorded;
	// it is garbage once the tensor is returned. NoGrad is not used because
	// it is process-wide and would stop a concurrent training loop from
	// recording.
	return g.net.Features(autograd.Const(graynet.ToGray(images))).Value
}

// Classify returns the [N, 20] class logits of images (MNIST digits 0-9,
// then Fashion-MNIST classes 0-9), under the same conditions as Features.
func (g *GrayExtractor) Classify(images *tensor.Tensor) *tensor.Tensor {
	if s := images.Shape(); len(s) != 4 || (s[1] != 1 && s[1] != 3) {
		panic(fmt.Sprintf("metrics: GrayExtractor.Classify: images of shape %v; want [N, 1 or 3, H, W]", s))
	}
	return g.net.Forward(autograd.Const(graynet.ToGray(images))).Value
}
