// Package graynet defines the small convolutional classifier behind metrics'
// "gantry-gray" feature extractor: grayscale 28-32 px images, 20 classes
// (MNIST digits 0-9, then Fashion-MNIST classes 0-9). The trainer is
// internal/cmd/graytrain; the trained weights ship with package metrics.
package graynet

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// Classes is the number of output classes; FeatureDim the length of the
// feature vector (the global average of the last convolution's ReLU maps).
const (
	Classes    = 20
	FeatureDim = 128
)

// Net maps [N, 1, H, W] images in [-1, 1] to features and class logits:
// four 3×3 convolutions (16, 32, 64 and 128 channels; the last three of
// stride 2), each followed by a ReLU, then the spatial mean and a linear layer.
type Net struct {
	Conv1 *nn.Conv2d `nn:"conv1"`
	Conv2 *nn.Conv2d `nn:"conv2"`
	Conv3 *nn.Conv2d `nn:"conv3"`
	Conv4 *nn.Conv2d `nn:"conv4"`
	FC    *nn.Linear `nn:"fc"`
}

// New returns a network initialised from r (zero weights if r is nil, for
// loading).
func New(r *rand.Rand) *Net {
	s1 := nn.ConvOptions{Padding: 1}
	s2 := nn.ConvOptions{Stride: 2, Padding: 1}
	return &Net{
		Conv1: nn.NewConv2d(1, 16, 3, s1, r),
		Conv2: nn.NewConv2d(16, 32, 3, s2, r),
		Conv3: nn.NewConv2d(32, 64, 3, s2, r),
		Conv4: nn.NewConv2d(64, FeatureDim, 3, s2, r),
		FC:    nn.NewLinear(FeatureDim, Classes, true, r),
	}
}

// Features returns the [N, FeatureDim] features of x.
//
// It panics if x is not [N, 1, H, W].
func (n *Net) Features(x *autograd.Var) *autograd.Var {
	if s := x.Shape(); len(s) != 4 || s[1] != 1 {
		panic(fmt.Sprintf("graynet: Features: input shape %v; want [N, 1, H, W]", s))
	}
	h := autograd.ReLU(n.Conv1.Forward(x))
	h = autograd.ReLU(n.Conv2.Forward(h))
	h = autograd.ReLU(n.Conv3.Forward(h))
	h = autograd.ReLU(n.Conv4.Forward(h))
	return autograd.Mean(h, false, 2, 3)
}

// Forward returns the [N, Classes] logits of x.
func (n *Net) Forward(x *autograd.Var) *autograd.Var {
	return n.FC.Forward(n.Features(x))
}

// ToGray averages the channels of [N, C, H, W] images to [N, 1, H, W];
// one-channel images are returned as they are.
func ToGray(x *tensor.Tensor) *tensor.Tensor {
	if x.Dim(1) == 1 {
		return x
	}
	return tensor.Mean(x, true, 1)
}
