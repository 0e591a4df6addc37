package losses_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/nn/losses"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// wganG is a small generator as the paper builds it: a linear layer to 4x4,
// two upsampling residual blocks with batch norm, a 3x3 convolution to RGB.
type wganG struct {
	FC     *nn.Linear          `nn:"fc"`
	Blocks []*nn.ResidualBlock `nn:"blocks"`
	Norm   *nn.BatchNorm2d     `nn:"norm"`
	Out    *nn.Conv2d          `nn:"out"`
	d      int
}

func (g *wganG) Forward(z *autograd.Var) *autograd.Var {
	h := autograd.Reshape(g.FC.Forward(z), z.Value.Dim(0), g.d, 4, 4)
	for _, b := range g.Blocks {
		h = b.Forward(h)
	}
	return autograd.Tanh(g.Out.Forward(autograd.ReLU(g.Norm.Forward(h))))
}

// wganD is its critic: a 3x3 convolution, two downsampling residual blocks
// with layer norm, a linear score.
type wganD struct {
	In     *nn.Conv2d          `nn:"in"`
	Blocks []*nn.ResidualBlock `nn:"blocks"`
	FC     *nn.Linear          `nn:"fc"`
}

func (d *wganD) Forward(x *autograd.Var) *autograd.Var {
	h := d.In.Forward(x)
	for _, b := range d.Blocks {
		h = b.Forward(h)
	}
	return d.FC.Forward(autograd.Reshape(autograd.ReLU(h), x.Value.Dim(0), -1))
}

// wganSteps trains a WGAN-GP pair for a few iterations (two critic steps,
// one generator step each) and returns every parameter and buffer of both
// and the losses, by name.
func wganSteps(iters int) map[string][]float32 {
	const d, z, batch = 16, 32, 8
	r := rand.New(rand.NewPCG(16, 2018))
	g := &wganG{
		FC: nn.NewLinear(z, d*4*4, true, r),
		Blocks: []*nn.ResidualBlock{
			nn.NewResidualBlock(d, d, 3, nn.ResampleUp, nn.BatchNorms(nn.UseRunningStats), r),
			nn.NewResidualBlock(d, d, 3, nn.ResampleUp, nn.BatchNorms(nn.UseRunningStats), r),
		},
		Norm: nn.NewBatchNorm2d(d),
		Out:  nn.NewConv2d(d, 3, 3, nn.ConvOptions{Padding: nn.PadSame}, r),
		d:    d,
	}
	c := &wganD{
		In: nn.NewConv2d(3, d, 3, nn.ConvOptions{Padding: nn.PadSame}, r),
		Blocks: []*nn.ResidualBlock{
			nn.NewResidualBlock(d, 2*d, 3, nn.ResampleDown, nn.LayerNorms(), r),
			nn.NewResidualBlock(2*d, 2*d, 3, nn.ResampleDown, nn.LayerNorms(), r),
		},
		FC: nn.NewLinear(2*d*4*4, 1, true, r),
	}
	adam := optim.AdamConfig{LR: 1e-4, Beta1: 0, Beta2: 0.9, Eps: 1e-8}
	optG := optim.NewAdam(optim.Named(nn.Parameters(g)), adam)
	optD := optim.NewAdam(optim.Named(nn.Parameters(c)), adam)
	real := tensor.RandU(r, -1, 1, batch, 3, 16, 16)
	out := map[string][]float32{}
	for it := range iters {
		for range 2 {
			var fake *tensor.Tensor
			autograd.NoGrad(func() { fake = g.Forward(autograd.Const(tensor.RandN(r, batch, z))).Value })
			optD.ZeroGrad()
			gp := losses.GradientPenalty(c.Forward, real, fake, 10, r)
			loss := autograd.Add(losses.WassersteinD(c.Forward(autograd.Const(real)), c.Forward(autograd.Const(fake))), gp.Loss)
			autograd.Backward(loss)
			optD.Step()
			out[fmt.Sprintf("loss.d.%d", it)] = append(out[fmt.Sprintf("loss.d.%d", it)], loss.Value.Item())
		}
		optG.ZeroGrad()
		loss := losses.WassersteinG(c.Forward(g.Forward(autograd.Const(tensor.RandN(r, batch, z)))))
		autograd.Backward(loss)
		optG.Step()
		out[fmt.Sprintf("loss.g.%d", it)] = []float32{loss.Value.Item()}
	}
	for name, t := range nn.StateDict(g) {
		out["g."+name] = t.Data()
	}
	for name, t := range nn.StateDict(c) {
		out["d."+name] = t.Data()
	}
	return out
}

// TestWGANDeterministicAcrossThreads: the same seed gives bit-identical
// parameters, buffers and losses whatever GOMAXPROCS is (the kernels split
// their work by it), so a run reproduces on any machine.
func TestWGANDeterministicAcrossThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var ref map[string][]float32
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		got := wganSteps(3)
		if ref == nil {
			ref = got
			continue
		}
		for name, want := range ref {
			assert.Equal(t, bits(want), bits(got[name]), "GOMAXPROCS %d: %s, bit for bit against 1", procs, name)
		}
	}
}

// bits returns the bit patterns of xs, to compare them exactly (NaNs and
// signed zeros included).
func bits(xs []float32) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = math.Float32bits(x)
	}
	return out
}
