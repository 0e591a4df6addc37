package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gantry-go/gantry/tensor"
)

// Initialisers fill a weight tensor in place from a seeded *rand.Rand, so the
// same seed always gives the same model. Fans are read from the shape in
// PyTorch's layout: a linear weight is [out, in] and a convolution filter
// [out, in, kh, kw], so fan_in = in·kh·kw and fan_out = out·kh·kw.

// Fans returns the fan-in and fan-out of a weight of the given shape.
//
// It panics if the shape has fewer than two dimensions.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("nn: Fans: weight shape %v has fewer than 2 dimensions", shape))
	}
	recept := 1
	for _, d := range shape[2:] {
		recept *= d
	}
	return shape[1] * recept, shape[0] * recept
}

// Uniform fills t with samples from U(lo, hi).
func Uniform(t *tensor.Tensor, lo, hi float64, r *rand.Rand) {
	d := t.Data()
	for i := range d {
		d[i] = float32(lo + (hi-lo)*r.Float64())
	}
}

// Normal fills t with samples from N(mean, std²).
func Normal(t *tensor.Tensor, mean, std float64, r *rand.Rand) {
	d := t.Data()
	for i := range d {
		d[i] = float32(mean + std*r.NormFloat64())
	}
}

// UniformStd fills t from the uniform distribution of mean 0 and standard
// deviation std, U(-√3·std, √3·std): the form all of the paper's rules take.
func UniformStd(t *tensor.Tensor, std float64, r *rand.Rand) {
	b := math.Sqrt(3) * std
	Uniform(t, -b, b, r)
}

// PaperHeUniform is the paper's rule for convolutions created with
// he_init=True (every residual-block convolution and the generator's output
// convolution): uniform with σ = √(4/(fan_in+fan_out)), where
// fan_in = in·k² and fan_out = out·k²/stride². This is not the standard He
// rule.
//
// It panics if t is not a 4-D filter or stride < 1.
func PaperHeUniform(t *tensor.Tensor, stride int, r *rand.Rand) {
	if t.Dims() != 4 || stride < 1 {
		panic(fmt.Sprintf("nn: PaperHeUniform: filter %v, stride %d: want [out,in,kh,kw] and stride >= 1", t.Shape(), stride))
	}
	fanIn, fanOut := Fans(t.Shape())
	fo := float64(fanOut) / float64(stride*stride)
	UniformStd(t, math.Sqrt(4/(float64(fanIn)+fo)), r)
}

// GlorotUniform is Glorot (Xavier) initialisation in the paper's uniform
// form, σ = √(2/(fan_in+fan_out)); this equals torch.nn.init.xavier_uniform_.
// The paper uses it for 1×1 shortcuts, the critic's input convolution and
// every linear layer.
//
// It panics if t has fewer than two dimensions.
func GlorotUniform(t *tensor.Tensor, r *rand.Rand) {
	fanIn, fanOut := Fans(t.Shape())
	UniformStd(t, math.Sqrt(2/float64(fanIn+fanOut)), r)
}

// kaimingStd is gain/√fan_in with PyTorch's leaky-ReLU gain √(2/(1+a²)).
func kaimingStd(op string, t *tensor.Tensor, a float64) float64 {
	if t.Dims() < 2 {
		panic(fmt.Sprintf("nn: %s: weight shape %v has fewer than 2 dimensions", op, t.Shape()))
	}
	fanIn, _ := Fans(t.Shape())
	return math.Sqrt(2/(1+a*a)) / math.Sqrt(float64(fanIn))
}

// KaimingNormal is He initialisation, N(0, gain²/fan_in) with the gain of a
// leaky ReLU of negative slope a (a = 0 for ReLU), as
// torch.nn.init.kaiming_normal_ in fan_in mode.
//
// It panics if t has fewer than two dimensions.
func KaimingNormal(t *tensor.Tensor, a float64, r *rand.Rand) {
	Normal(t, 0, kaimingStd("KaimingNormal", t, a), r)
}

// KaimingUniform is He initialisation with a uniform distribution of the
// same variance as KaimingNormal, as torch.nn.init.kaiming_uniform_.
//
// It panics if t has fewer than two dimensions.
func KaimingUniform(t *tensor.Tensor, a float64, r *rand.Rand) {
	UniformStd(t, kaimingStd("KaimingUniform", t, a), r)
}

// DCGANNormal fills t from N(0, 0.02²), the DCGAN rule.
func DCGANNormal(t *tensor.Tensor, r *rand.Rand) { Normal(t, 0, 0.02, r) }

// TorchDefault initialises a weight and its (possibly nil) bias as
// torch.nn.Linear and torch.nn.Conv2d do by default: the weight from
// kaiming_uniform_ with a = √5, i.e. U(-1/√fan_in, 1/√fan_in), and the bias
// from the same range.
//
// It panics if weight has fewer than two dimensions.
func TorchDefault(weight, bias *tensor.Tensor, r *rand.Rand) {
	KaimingUniform(weight, math.Sqrt(5), r)
	if bias != nil {
		fanIn, _ := Fans(weight.Shape())
		b := 1 / math.Sqrt(float64(fanIn))
		Uniform(bias, -b, b, r)
	}
}
