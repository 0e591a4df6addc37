package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// PadSame as a ConvOptions padding keeps the spatial size of a stride-1
// convolution with an odd kernel: padding (k-1)/2, TensorFlow's "SAME".
const PadSame = -1

// ConvOptions configures a Conv2d. The zero value is a stride-1, unpadded
// convolution with a bias, as torch.nn.Conv2d's defaults.
type ConvOptions struct {
	Stride  int  // 0 means 1
	Padding int  // zero padding on every side; PadSame for (k-1)/2
	NoBias  bool // no bias parameter
}

// Conv2d is a 2-D convolution (cross-correlation) of [N,C,H,W] images with
// Weight [out, in, k, k], plus Bias [out] unless it is nil.
type Conv2d struct {
	Weight *Param `nn:"weight"`
	Bias   *Param `nn:"bias"`
	// Params holds the stride and zero padding (the constructor sets them).
	Params tensor.ConvParams `nn:"-"`
}

// NewConv2d returns a k×k convolution from in to out channels, initialised
// as torch.nn.Conv2d (see TorchDefault). A nil r leaves the weights zero.
//
// It panics if a size is not positive or the padding is below PadSame.
func NewConv2d(in, out, k int, o ConvOptions, r *rand.Rand) *Conv2d {
	if in <= 0 || out <= 0 || k <= 0 || o.Stride < 0 || o.Padding < PadSame {
		panic(fmt.Sprintf("nn: NewConv2d: in=%d out=%d k=%d %+v: sizes must be positive", in, out, k, o))
	}
	stride, pad := max(o.Stride, 1), o.Padding
	if pad == PadSame {
		pad = (k - 1) / 2
	}
	c := &Conv2d{
		Weight: NewParam(tensor.New(out, in, k, k)),
		Params: tensor.ConvParams{Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad}},
	}
	var b *tensor.Tensor
	if !o.NoBias {
		c.Bias = NewParam(tensor.New(out))
		b = c.Bias.Value
	}
	if r != nil {
		TorchDefault(c.Weight.Value, b, r)
	}
	return c
}

// Forward returns the convolution of x [N,in,H,W] plus the bias.
//
// It panics if the weight has no channels, x is not [N,in,H,W] or the kernel
// does not fit.
func (c *Conv2d) Forward(x *autograd.Var) *autograd.Var {
	w := c.Weight.Value
	if w.Dims() != 4 || w.Dim(1) < 1 || w.Dim(0) < 1 {
		panic(fmt.Sprintf("nn: Conv2d: weight %v: want [out,in,k,k] with at least one channel in and out", w.Shape()))
	}
	if x.Value.Dims() != 4 || x.Value.Dim(1) != w.Dim(1) {
		panic(fmt.Sprintf("nn: Conv2d: input %v, weight %v: want input [N,%d,H,W]", x.Value.Shape(), w.Shape(), w.Dim(1)))
	}
	if c.Bias != nil {
		return autograd.Conv2dBias(x, c.Weight.Var, c.Bias.Var, c.Params)
	}
	return autograd.Conv2d(x, c.Weight.Var, c.Params)
}

// Upsample enlarges [N,C,H,W] images Scale times (2 when zero) by nearest
// neighbour: the paper's UpsampleConv before its convolution.
type Upsample struct {
	Scale int `nn:"-"`
}

// Forward returns x repeated Scale times along H and W.
//
// It panics if x is not 4-D or Scale is negative.
func (u Upsample) Forward(x *autograd.Var) *autograd.Var {
	s := u.Scale
	if s == 0 {
		s = 2
	}
	if x.Value.Dims() != 4 || s < 1 {
		panic(fmt.Sprintf("nn: Upsample: input %v, scale %d: want [N,C,H,W] and scale >= 1", x.Value.Shape(), u.Scale))
	}
	return autograd.UpsampleNearest(x, s)
}

// MeanPool averages non-overlapping 2×2 windows of [N,C,H,W] images, the
// paper's mean pooling (the mean of the four strided sub-grids).
type MeanPool struct{}

// Forward returns the 2×2 means of x, [N,C,H/2,W/2].
//
// It panics if x is not 4-D or smaller than 2×2.
func (MeanPool) Forward(x *autograd.Var) *autograd.Var {
	if x.Value.Dims() != 4 || x.Value.Dim(2) < 2 || x.Value.Dim(3) < 2 {
		panic(fmt.Sprintf("nn: MeanPool: input %v, want [N,C,H,W] with H,W >= 2", x.Value.Shape()))
	}
	return autograd.AvgPool2d(x, tensor.Window(2))
}
