package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// Resample is what a ResidualBlock does to the spatial size.
type Resample int

const (
	ResampleNone Resample = iota // keep H×W
	ResampleUp                   // double H and W (nearest neighbour, before conv1)
	ResampleDown                 // halve H and W (mean pooling, after conv2)
)

func (r Resample) String() string {
	switch r {
	case ResampleNone:
		return "none"
	case ResampleUp:
		return "up"
	case ResampleDown:
		return "down"
	}
	return fmt.Sprintf("Resample(%d)", int(r))
}

// ResidualBlock is the pre-activation residual block of the 64×64 ResNet of
// Transferring GANs (Wang et al., ECCV 2018), itself the block of
// Gulrajani et al.'s WGAN-GP ResNet:
//
//	h   = conv2(relu(norm2(conv1(relu(norm1(x))))))
//	out = shortcut(x) + h
//
// conv1 has no bias and conv2 has one. With ResampleUp, x is upsampled
// (nearest, ×2) before conv1 (in→out), and conv2 is out→out. With
// ResampleDown, conv1 is in→in and conv2 (in→out) is followed by 2×2 mean
// pooling. With ResampleNone, conv1 is in→in and conv2 in→out. The shortcut is
// the identity when in == out and there is no resampling; otherwise it is a
// 1×1 convolution with a bias, after upsampling or after mean pooling.
//
// Norm1 and Norm2 are nil when the block has no normalisation.
type ResidualBlock struct {
	Norm1    Norm     `nn:"norm1"`
	Conv1    *Conv2d  `nn:"conv1"`
	Norm2    Norm     `nn:"norm2"`
	Conv2    *Conv2d  `nn:"conv2"`
	Shortcut *Conv2d  `nn:"shortcut"`
	Resample Resample `nn:"-"`
}

// NewResidualBlock returns a block from in to out channels with k×k
// convolutions (k odd, "SAME" padding), the given resampling, and norms made
// by norm (nil for none). Weights follow the paper's rules (PaperHeUniform
// for conv1 and conv2, GlorotUniform for the shortcut, biases 0); a nil r
// leaves them zero.
//
// It panics if a size is not positive, k is even, or resample is unknown.
func NewResidualBlock(in, out, k int, resample Resample, norm NormFunc, r *rand.Rand) *ResidualBlock {
	if in <= 0 || out <= 0 || k <= 0 || k%2 == 0 || resample < ResampleNone || resample > ResampleDown {
		panic(fmt.Sprintf("nn: NewResidualBlock: in=%d out=%d k=%d resample=%v: want positive sizes and odd k", in, out, k, resample))
	}
	mid := in // conv1's output channels
	if resample == ResampleUp {
		mid = out
	}
	b := &ResidualBlock{
		Conv1:    NewConv2d(in, mid, k, ConvOptions{Padding: PadSame, NoBias: true}, nil),
		Conv2:    NewConv2d(mid, out, k, ConvOptions{Padding: PadSame}, nil),
		Resample: resample,
	}
	if norm != nil {
		b.Norm1, b.Norm2 = norm(in), norm(mid)
	}
	if in != out || resample != ResampleNone {
		b.Shortcut = NewConv2d(in, out, 1, ConvOptions{}, nil)
	}
	if r != nil {
		PaperHeUniform(b.Conv1.Weight.Value, 1, r)
		PaperHeUniform(b.Conv2.Weight.Value, 1, r)
		if b.Shortcut != nil {
			GlorotUniform(b.Shortcut.Weight.Value, r)
		}
	}
	return b
}

// Forward runs the block with norms that need no labels.
//
// It panics if x does not fit the block or a norm needs labels.
func (b *ResidualBlock) Forward(x *autograd.Var) *autograd.Var { return b.ForwardLabels(x, nil) }

// ForwardLabels runs the block, passing labels (one per sample) to its
// norms, for conditional batch norm.
//
// It panics if x does not fit the block or the labels do not fit the norms.
func (b *ResidualBlock) ForwardLabels(x *autograd.Var, labels []int) *autograd.Var {
	in := b.Conv1.Weight.Value.Dim(1)
	if x.Value.Dims() != 4 || x.Value.Dim(1) != in {
		panic(fmt.Sprintf("nn: ResidualBlock: input %v, want [N,%d,H,W]", x.Value.Shape(), in))
	}
	sc := x
	if b.Resample == ResampleUp {
		sc = autograd.UpsampleNearest(x, 2)
	}
	if b.Resample == ResampleDown {
		sc = autograd.AvgPool2d(x, tensor.Window(2))
	}
	if b.Shortcut != nil {
		sc = b.Shortcut.Forward(sc)
	}
	h := x
	if b.Norm1 != nil {
		h = b.Norm1.Normalize(h, labels)
	}
	h = autograd.ReLU(h)
	if b.Resample == ResampleUp {
		h = autograd.UpsampleNearest(h, 2)
	}
	h = b.Conv1.Forward(h)
	if b.Norm2 != nil {
		h = b.Norm2.Normalize(h, labels)
	}
	h = autograd.ReLU(h)
	h = b.Conv2.Forward(h)
	if b.Resample == ResampleDown {
		h = autograd.AvgPool2d(h, tensor.Window(2))
	}
	return autograd.Add(sc, h)
}

// NormStats says which statistics the batch norms that BatchNorms and
// CondBatchNorms make use in evaluation mode.
type NormStats int

const (
	// UseRunningStats: the running averages in evaluation mode, the batch's
	// statistics in training (PyTorch's BatchNorm2d).
	UseRunningStats NormStats = iota
	// AlwaysBatchStats: the batch's statistics in both modes (the
	// BatchNorm2d field of that name), as the paper's generator samples.
	AlwaysBatchStats
)

// BatchNorms makes BatchNorm2d norms for blocks, with the statistics stats
// names: nn.BatchNorms(nn.AlwaysBatchStats) for the paper's generator.
func BatchNorms(stats NormStats) NormFunc {
	return func(c int) Norm {
		bn := NewBatchNorm2d(c)
		bn.AlwaysBatchStats = stats == AlwaysBatchStats
		return bn
	}
}

// LayerNorms makes LayerNorm norms for blocks, as the paper's critic.
func LayerNorms() NormFunc { return func(c int) Norm { return NewLayerNorm(c) } }

// CondBatchNorms makes CondBatchNorm2d norms over k classes for blocks, with
// the statistics stats names, as the paper's conditional (AC-GAN) generator.
func CondBatchNorms(k int, stats NormStats) NormFunc {
	return func(c int) Norm {
		bn := NewCondBatchNorm2d(k, c)
		bn.AlwaysBatchStats = stats == AlwaysBatchStats
		return bn
	}
}
