package inception

import (
	"fmt"
	"math"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// BNEps is the epsilon of every batch norm of the network (TensorFlow's
// 0.001, not PyTorch's default 1e-5).
const BNEps = 1e-3

// BasicConv is Inception's unit: a convolution without bias, a batch norm
// with eps BNEps in evaluation mode (running statistics), then ReLU. Its
// members are named as torchvision's BasicConv2d: conv.weight, bn.weight,
// bn.bias, bn.running_mean, bn.running_var, bn.num_batches_tracked.
type BasicConv struct {
	Conv *nn.Conv2d      `nn:"conv"`
	BN   *nn.BatchNorm2d `nn:"bn"`
}

// newBasicConv returns a kh×kw convolution from in to out channels with the
// given stride and (height, width) zero padding, its weights zero and its
// batch norm the identity.
func newBasicConv(in, out, kh, kw, stride, ph, pw int) *BasicConv {
	bn := nn.NewBatchNorm2d(out)
	bn.Eps = BNEps
	bn.SetTraining(false)
	return &BasicConv{
		Conv: &nn.Conv2d{
			Weight: nn.NewParam(tensor.New(out, in, kh, kw)),
			Params: tensor.ConvParams{Stride: [2]int{stride, stride}, Padding: [2]int{ph, pw}},
		},
		BN: bn,
	}
}

// forward returns relu(bn(conv(x))) for x [N,in,H,W], with no graph.
func (b *BasicConv) forward(x *tensor.Tensor) *tensor.Tensor {
	w := b.Conv.Weight.Value
	if x.Dims() != 4 || x.Dim(1) != w.Dim(1) {
		panic(fmt.Sprintf("inception: BasicConv: input %v, weight %v: want input [N,%d,H,W]", x.Shape(), w.Shape(), w.Dim(1)))
	}
	var y *tensor.Tensor
	n, c, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	if p := b.Conv.Params; w.Dim(2) == 1 && w.Dim(3) == 1 && p.Stride == [2]int{1, 1} && p.Padding == [2]int{} && h*wd >= pointwiseMinPixels {
		// A pointwise convolution is a matrix product per image; on
		// large maps that beats lowering the batch with im2col.
		o := w.Dim(0)
		y = tensor.MatMul(w.Reshape(o, c), x.Reshape(n, c, h*wd)).Reshape(n, o, h, wd)
	} else {
		y = tensor.Conv2d(x, w, b.Conv.Params)
	}
	normReLU(y, b.BN)
	return y
}

// pointwiseMinPixels is the map size from which BasicConv computes a 1×1
// convolution as one matrix product per image rather than with
// tensor.Conv2d (measured faster at 17×17 and 35×35, slower at 8×8).
const pointwiseMinPixels = 256

// normReLU applies the evaluation-mode batch norm bn and then ReLU to y
// [N,C,H,W] in place, as y·a + c with a = weight/sqrt(var+eps) and
// c = bias - mean·a per channel (computed in float64), the form PyTorch's CPU
// kernel uses.
func normReLU(y *tensor.Tensor, bn *nn.BatchNorm2d) {
	c := y.Dim(1)
	scale, shift := tensor.New(c), tensor.New(c)
	g, beta := bn.Weight.Value.Data(), bn.Bias.Value.Data()
	mean, vr := bn.RunningMean.Value.Data(), bn.RunningVar.Value.Data()
	for i := range c {
		a := float64(g[i]) / math.Sqrt(float64(vr[i])+float64(bn.Eps))
		scale.Data()[i] = float32(a)
		shift.Data()[i] = float32(float64(beta[i]) - float64(mean[i])*a)
	}
	tensor.ScaleShiftReLUInto(y, y, scale, shift)
}

// widths scales the channel counts of the real network down by a divisor,
// for tests with small weights: 3 (the image channels) stays 3 and every
// other count c becomes c/div. The real network has div 1.
type widths int

func (d widths) of(c int) int {
	if c == 3 || d == 1 {
		return c
	}
	if d < 1 || c%int(d) != 0 {
		panic(fmt.Sprintf("inception: width divisor %d does not divide %d channels", d, c))
	}
	return c / int(d)
}

// conv returns a BasicConv whose channel counts are those of the real
// network scaled by d.
func (d widths) conv(in, out, kh, kw, stride, ph, pw int) *BasicConv {
	return newBasicConv(d.of(in), d.of(out), kh, kw, stride, ph, pw)
}

// Stem is the network's first part, the convolutions and max pools that
// take 299×299 images to 192 maps of 35×35. Its member names are those of
// torchvision's Inception3, where these are top-level modules.
type Stem struct {
	Conv1a *BasicConv `nn:"Conv2d_1a_3x3"` // 3 -> 32, 3x3 stride 2
	Conv2a *BasicConv `nn:"Conv2d_2a_3x3"` // 32 -> 32, 3x3
	Conv2b *BasicConv `nn:"Conv2d_2b_3x3"` // 32 -> 64, 3x3 padding 1; then max pool 3x3 stride 2
	Conv3b *BasicConv `nn:"Conv2d_3b_1x1"` // 64 -> 80, 1x1
	Conv4a *BasicConv `nn:"Conv2d_4a_3x3"` // 80 -> 192, 3x3; then max pool 3x3 stride 2
}

func newStem(d widths) Stem {
	return Stem{
		Conv1a: d.conv(3, 32, 3, 3, 2, 0, 0),
		Conv2a: d.conv(32, 32, 3, 3, 1, 0, 0),
		Conv2b: d.conv(32, 64, 3, 3, 1, 1, 1),
		Conv3b: d.conv(64, 80, 1, 1, 1, 0, 0),
		Conv4a: d.conv(80, 192, 3, 3, 1, 0, 0),
	}
}

func (s *Stem) forward(x *tensor.Tensor) *tensor.Tensor {
	x = s.Conv2b.forward(s.Conv2a.forward(s.Conv1a.forward(x)))
	x = maxPool3(x, 2, 0)
	x = s.Conv4a.forward(s.Conv3b.forward(x))
	return maxPool3(x, 2, 0)
}

// BlockA is pytorch-fid's FIDInceptionA (Mixed_5b, 5c, 5d): four branches
// at the input's resolution, concatenated (64 + 64 + 96 + pool channels).
// Its pool branch averages 3×3 windows without counting the padding
// (count_include_pad=False, as TensorFlow), unlike torchvision's InceptionA.
type BlockA struct {
	Branch1x1  *BasicConv `nn:"branch1x1"`      // in -> 64, 1x1
	Branch5x5a *BasicConv `nn:"branch5x5_1"`    // in -> 48, 1x1
	Branch5x5b *BasicConv `nn:"branch5x5_2"`    // 48 -> 64, 5x5 padding 2
	Dbl1       *BasicConv `nn:"branch3x3dbl_1"` // in -> 64, 1x1
	Dbl2       *BasicConv `nn:"branch3x3dbl_2"` // 64 -> 96, 3x3 padding 1
	Dbl3       *BasicConv `nn:"branch3x3dbl_3"` // 96 -> 96, 3x3 padding 1
	BranchPool *BasicConv `nn:"branch_pool"`    // avg pool 3x3, then in -> pool, 1x1
}

func newBlockA(d widths, in, pool int) *BlockA {
	return &BlockA{
		Branch1x1:  d.conv(in, 64, 1, 1, 1, 0, 0),
		Branch5x5a: d.conv(in, 48, 1, 1, 1, 0, 0),
		Branch5x5b: d.conv(48, 64, 5, 5, 1, 2, 2),
		Dbl1:       d.conv(in, 64, 1, 1, 1, 0, 0),
		Dbl2:       d.conv(64, 96, 3, 3, 1, 1, 1),
		Dbl3:       d.conv(96, 96, 3, 3, 1, 1, 1),
		BranchPool: d.conv(in, pool, 1, 1, 1, 0, 0),
	}
}

func (b *BlockA) forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.Concat(1,
		b.Branch1x1.forward(x),
		b.Branch5x5b.forward(b.Branch5x5a.forward(x)),
		b.Dbl3.forward(b.Dbl2.forward(b.Dbl1.forward(x))),
		b.BranchPool.forward(avgPool3(x)),
	)
}

// BlockB is torchvision's InceptionB (Mixed_6a), unchanged in pytorch-fid: it
// halves the resolution with two strided convolution branches and a 3×3
// stride-2 max pool of the input (384 + 96 + in channels).
type BlockB struct {
	Branch3x3 *BasicConv `nn:"branch3x3"`      // in -> 384, 3x3 stride 2
	Dbl1      *BasicConv `nn:"branch3x3dbl_1"` // in -> 64, 1x1
	Dbl2      *BasicConv `nn:"branch3x3dbl_2"` // 64 -> 96, 3x3 padding 1
	Dbl3      *BasicConv `nn:"branch3x3dbl_3"` // 96 -> 96, 3x3 stride 2
}

func newBlockB(d widths, in int) *BlockB {
	return &BlockB{
		Branch3x3: d.conv(in, 384, 3, 3, 2, 0, 0),
		Dbl1:      d.conv(in, 64, 1, 1, 1, 0, 0),
		Dbl2:      d.conv(64, 96, 3, 3, 1, 1, 1),
		Dbl3:      d.conv(96, 96, 3, 3, 2, 0, 0),
	}
}

func (b *BlockB) forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.Concat(1,
		b.Branch3x3.forward(x),
		b.Dbl3.forward(b.Dbl2.forward(b.Dbl1.forward(x))),
		maxPool3(x, 2, 0),
	)
}

// BlockC is pytorch-fid's FIDInceptionC (Mixed_6b to 6e): factorised 7×7
// convolutions (1×7 and 7×1 pairs) of c7 channels, 4×192 output channels,
// and the pool branch of BlockA (padding not counted).
type BlockC struct {
	Branch1x1  *BasicConv `nn:"branch1x1"`      // in -> 192, 1x1
	B7x7a      *BasicConv `nn:"branch7x7_1"`    // in -> c7, 1x1
	B7x7b      *BasicConv `nn:"branch7x7_2"`    // c7 -> c7, 1x7 padding (0,3)
	B7x7c      *BasicConv `nn:"branch7x7_3"`    // c7 -> 192, 7x1 padding (3,0)
	Dbl1       *BasicConv `nn:"branch7x7dbl_1"` // in -> c7, 1x1
	Dbl2       *BasicConv `nn:"branch7x7dbl_2"` // c7 -> c7, 7x1
	Dbl3       *BasicConv `nn:"branch7x7dbl_3"` // c7 -> c7, 1x7
	Dbl4       *BasicConv `nn:"branch7x7dbl_4"` // c7 -> c7, 7x1
	Dbl5       *BasicConv `nn:"branch7x7dbl_5"` // c7 -> 192, 1x7
	BranchPool *BasicConv `nn:"branch_pool"`    // avg pool 3x3, then in -> 192, 1x1
}

func newBlockC(d widths, in, c7 int) *BlockC {
	return &BlockC{
		Branch1x1:  d.conv(in, 192, 1, 1, 1, 0, 0),
		B7x7a:      d.conv(in, c7, 1, 1, 1, 0, 0),
		B7x7b:      d.conv(c7, c7, 1, 7, 1, 0, 3),
		B7x7c:      d.conv(c7, 192, 7, 1, 1, 3, 0),
		Dbl1:       d.conv(in, c7, 1, 1, 1, 0, 0),
		Dbl2:       d.conv(c7, c7, 7, 1, 1, 3, 0),
		Dbl3:       d.conv(c7, c7, 1, 7, 1, 0, 3),
		Dbl4:       d.conv(c7, c7, 7, 1, 1, 3, 0),
		Dbl5:       d.conv(c7, 192, 1, 7, 1, 0, 3),
		BranchPool: d.conv(in, 192, 1, 1, 1, 0, 0),
	}
}

func (b *BlockC) forward(x *tensor.Tensor) *tensor.Tensor {
	dbl := b.Dbl3.forward(b.Dbl2.forward(b.Dbl1.forward(x)))
	return tensor.Concat(1,
		b.Branch1x1.forward(x),
		b.B7x7c.forward(b.B7x7b.forward(b.B7x7a.forward(x))),
		b.Dbl5.forward(b.Dbl4.forward(dbl)),
		b.BranchPool.forward(avgPool3(x)),
	)
}

// BlockD is torchvision's InceptionD (Mixed_7a), unchanged in pytorch-fid:
// the second reduction, 320 + 192 + in channels at half the resolution.
type BlockD struct {
	B3x3a *BasicConv `nn:"branch3x3_1"`   // in -> 192, 1x1
	B3x3b *BasicConv `nn:"branch3x3_2"`   // 192 -> 320, 3x3 stride 2
	B7x7a *BasicConv `nn:"branch7x7x3_1"` // in -> 192, 1x1
	B7x7b *BasicConv `nn:"branch7x7x3_2"` // 192 -> 192, 1x7 padding (0,3)
	B7x7c *BasicConv `nn:"branch7x7x3_3"` // 192 -> 192, 7x1 padding (3,0)
	B7x7d *BasicConv `nn:"branch7x7x3_4"` // 192 -> 192, 3x3 stride 2
}

func newBlockD(d widths, in int) *BlockD {
	return &BlockD{
		B3x3a: d.conv(in, 192, 1, 1, 1, 0, 0),
		B3x3b: d.conv(192, 320, 3, 3, 2, 0, 0),
		B7x7a: d.conv(in, 192, 1, 1, 1, 0, 0),
		B7x7b: d.conv(192, 192, 1, 7, 1, 0, 3),
		B7x7c: d.conv(192, 192, 7, 1, 1, 3, 0),
		B7x7d: d.conv(192, 192, 3, 3, 2, 0, 0),
	}
}

func (b *BlockD) forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.Concat(1,
		b.B3x3b.forward(b.B3x3a.forward(x)),
		b.B7x7d.forward(b.B7x7c.forward(b.B7x7b.forward(b.B7x7a.forward(x)))),
		maxPool3(x, 2, 0),
	)
}

// BlockE is pytorch-fid's FIDInceptionE_1 (Mixed_7b) or, with MaxPool set,
// FIDInceptionE_2 (Mixed_7c): 320 + 2×384 + 2×384 + 192 = 2048 channels,
// with split 1×3 / 3×1 convolutions. The pool branch of E_1 averages 3×3
// windows without counting the padding; that of E_2 takes their maximum
// instead (TensorFlow's graph did so; torchvision averages in both).
type BlockE struct {
	Branch1x1  *BasicConv `nn:"branch1x1"`       // in -> 320, 1x1
	B3x3       *BasicConv `nn:"branch3x3_1"`     // in -> 384, 1x1
	B3x3a      *BasicConv `nn:"branch3x3_2a"`    // 384 -> 384, 1x3 padding (0,1)
	B3x3b      *BasicConv `nn:"branch3x3_2b"`    // 384 -> 384, 3x1 padding (1,0)
	Dbl1       *BasicConv `nn:"branch3x3dbl_1"`  // in -> 448, 1x1
	Dbl2       *BasicConv `nn:"branch3x3dbl_2"`  // 448 -> 384, 3x3 padding 1
	Dbl3a      *BasicConv `nn:"branch3x3dbl_3a"` // 384 -> 384, 1x3
	Dbl3b      *BasicConv `nn:"branch3x3dbl_3b"` // 384 -> 384, 3x1
	BranchPool *BasicConv `nn:"branch_pool"`     // 3x3 pool, then in -> 192, 1x1
	// MaxPool makes the pool branch a 3×3 max pool (FIDInceptionE_2).
	MaxPool bool `nn:"-"`
}

func newBlockE(d widths, in int, maxPool bool) *BlockE {
	return &BlockE{
		Branch1x1:  d.conv(in, 320, 1, 1, 1, 0, 0),
		B3x3:       d.conv(in, 384, 1, 1, 1, 0, 0),
		B3x3a:      d.conv(384, 384, 1, 3, 1, 0, 1),
		B3x3b:      d.conv(384, 384, 3, 1, 1, 1, 0),
		Dbl1:       d.conv(in, 448, 1, 1, 1, 0, 0),
		Dbl2:       d.conv(448, 384, 3, 3, 1, 1, 1),
		Dbl3a:      d.conv(384, 384, 1, 3, 1, 0, 1),
		Dbl3b:      d.conv(384, 384, 3, 1, 1, 1, 0),
		BranchPool: d.conv(in, 192, 1, 1, 1, 0, 0),
		MaxPool:    maxPool,
	}
}

func (b *BlockE) forward(x *tensor.Tensor) *tensor.Tensor {
	t := b.B3x3.forward(x)
	dbl := b.Dbl2.forward(b.Dbl1.forward(x))
	var pooled *tensor.Tensor
	if b.MaxPool {
		pooled = maxPool3(x, 1, 1)
	} else {
		pooled = avgPool3(x)
	}
	return tensor.Concat(1,
		b.Branch1x1.forward(x),
		b.B3x3a.forward(t), b.B3x3b.forward(t),
		b.Dbl3a.forward(dbl), b.Dbl3b.forward(dbl),
		b.BranchPool.forward(pooled),
	)
}
