// Command stepprof times (and optionally profiles) WGAN-GP iterations of the
// paper's ResNet at CPU scale, built from nn layers: the workload that issue 7
// tunes the kernels for.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"time"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

type gen struct {
	Linear *nn.Linear          `nn:"linear"`
	Blocks []*nn.ResidualBlock `nn:"blocks"`
	BN     *nn.BatchNorm2d     `nn:"bn"`
	Out    *nn.Conv2d          `nn:"out"`
	d, s   int
}

type disc struct {
	In     *nn.Conv2d          `nn:"in"`
	Blocks []*nn.ResidualBlock `nn:"blocks"`
	Out    *nn.Linear          `nn:"out"`
}

func newGen(d, res, ch int, r *rand.Rand) *gen {
	s := res / 16
	g := &gen{Linear: nn.NewLinear(128, 8*d*s*s, true, r), d: d, s: s}
	for _, io := range [][2]int{{8 * d, 8 * d}, {8 * d, 4 * d}, {4 * d, 2 * d}, {2 * d, d}} {
		g.Blocks = append(g.Blocks, nn.NewResidualBlock(io[0], io[1], 3, nn.ResampleUp, nn.BatchNorms(true), r))
	}
	g.BN = nn.NewBatchNorm2d(d)
	g.Out = nn.NewConv2d(d, ch, 3, nn.ConvOptions{Padding: nn.PadSame}, r)
	return g
}

func (g *gen) forward(z *autograd.Var) *autograd.Var {
	h := autograd.Reshape(g.Linear.Forward(z), -1, 8*g.d, g.s, g.s)
	for _, b := range g.Blocks {
		h = b.Forward(h)
	}
	return autograd.Tanh(g.Out.Forward(autograd.ReLU(g.BN.Forward(h))))
}

func newDisc(d, res, ch int, r *rand.Rand) *disc {
	m := &disc{In: nn.NewConv2d(ch, d, 3, nn.ConvOptions{Padding: nn.PadSame}, r)}
	for _, io := range [][2]int{{d, 2 * d}, {2 * d, 4 * d}, {4 * d, 8 * d}, {8 * d, 8 * d}} {
		m.Blocks = append(m.Blocks, nn.NewResidualBlock(io[0], io[1], 3, nn.ResampleDown, nn.LayerNorms(), r))
	}
	m.Out = nn.NewLinear(8*d*(res/16)*(res/16), 1, true, r)
	return m
}

func (m *disc) forward(x *autograd.Var) *autograd.Var {
	h := m.In.Forward(x)
	for _, b := range m.Blocks {
		h = b.Forward(h)
	}
	return m.Out.Forward(autograd.Flatten(h))
}

func main() {
	d := flag.Int("d", 16, "width")
	res := flag.Int("res", 32, "resolution")
	batch := flag.Int("batch", 64, "batch size")
	iters := flag.Int("iters", 3, "timed iterations")
	prof := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	r := rand.New(rand.NewPCG(1, 2))
	g, dm := newGen(*d, *res, 1, r), newDisc(*d, *res, 1, r)
	cfg := optim.AdamConfig{LR: 1e-4, Beta1: 0, Beta2: 0.9, Eps: 1e-8}
	og := optim.NewAdam(optim.Named(nn.Parameters(g)), cfg)
	od := optim.NewAdam(optim.Named(nn.Parameters(dm)), cfg)
	B := *batch
	iter := func() {
		for range 5 {
			real := autograd.Const(tensor.RandU(r, -1, 1, B, 1, *res, *res))
			var fake *autograd.Var
			autograd.NoGrad(func() { fake = g.forward(autograd.Const(tensor.RandN(r, B, 128))) })
			fake = fake.Detach()
			eps := tensor.RandU(r, 0, 1, B, 1, 1, 1)
			xh := autograd.Leaf(tensor.Add(tensor.Mul(eps, real.Value), tensor.Mul(tensor.AddScalar(tensor.Neg(eps), 1), fake.Value)))
			gr := autograd.Grad(autograd.Sum(dm.forward(xh), false), []*autograd.Var{xh}, autograd.CreateGraph())[0]
			gp := autograd.Mean(autograd.Square(autograd.AddScalar(autograd.Norm(gr, false, 1, 2, 3), -1)), false)
			loss := autograd.Add(autograd.Sub(autograd.MeanAll(dm.forward(fake)), autograd.MeanAll(dm.forward(real))), autograd.Scale(gp, 10))
			od.ZeroGrad()
			autograd.Backward(loss)
			od.Step()
		}
		loss := autograd.Neg(autograd.MeanAll(dm.forward(g.forward(autograd.Const(tensor.RandN(r, B, 128))))))
		og.ZeroGrad()
		autograd.Backward(loss)
		og.Step()
	}
	iter() // warm up
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for range *iters {
		iter()
	}
	fmt.Printf("d=%d res=%d batch=%d: %.3f s/iter\n", *d, *res, B, time.Since(start).Seconds()/float64(*iters))
}
