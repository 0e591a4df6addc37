// Command stepprof times (and optionally profiles) WGAN-GP iterations of the
// paper's ResNet at CPU scale, built with package gan: the bare step (one
// iteration of n_critic critic steps and one generator step, no data
// loading, logging or checks) and, with -trainer, the same iterations
// through gan's Trainer, to measure what the trainer adds.
//
//	go run ./internal/cmd/stepprof -d 16 -batch 64 -iters 3 [-trainer] [-cpuprofile cpu.out] [-memprofile mem.out]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/nn/losses"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

func main() {
	d := flag.Int("d", 16, "width")
	res := flag.Int("res", 32, "resolution")
	batch := flag.Int("batch", 64, "batch size")
	iters := flag.Int("iters", 3, "timed iterations")
	trainer := flag.Bool("trainer", false, "also time the iterations through gan's Trainer")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the bare step")
	memprof := flag.String("memprofile", "", "write an allocation profile of the bare step")
	flag.Parse()
	cfg := gan.Config{Resolution: *res, Channels: 1, Width: *d}
	r := rand.New(rand.NewPCG(1, 2))
	m, err := gan.New(cfg, r)
	if err != nil {
		log.Fatal(err)
	}
	adam := optim.DefaultAdam()
	adam.LR, adam.Beta1, adam.Beta2 = 1e-4, 0, 0.9
	og := optim.NewAdam(optim.Named(nn.Parameters(m.G)), adam)
	od := optim.NewAdam(optim.Named(nn.Parameters(m.D)), adam)
	B := *batch
	critic := func(x *autograd.Var) *autograd.Var { return m.D.Forward(x) }
	iter := func() {
		for range 5 {
			real := tensor.RandU(r, -1, 1, B, 1, *res, *res)
			var fake *tensor.Tensor
			autograd.NoGrad(func() { fake = m.G.Forward(autograd.Const(tensor.RandN(r, B, 128))).Value })
			gp := losses.GradientPenalty(critic, real, fake, 10, r)
			loss := autograd.Add(losses.WassersteinD(m.D.Forward(autograd.Const(real)), m.D.Forward(autograd.Const(fake))), gp.Loss)
			od.ZeroGrad()
			autograd.Backward(loss)
			od.Step()
			autograd.Free(loss)
		}
		// As gan's Trainer: the critic is frozen for the generator step.
		for _, p := range nn.Parameters(m.D) {
			p.SetRequiresGrad(false)
		}
		loss := losses.WassersteinG(m.D.Forward(m.G.Forward(autograd.Const(tensor.RandN(r, B, 128)))))
		og.ZeroGrad()
		autograd.Backward(loss)
		og.Step()
		autograd.Free(loss)
		for _, p := range nn.Parameters(m.D) {
			p.SetRequiresGrad(true)
		}
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
	if *memprof != "" {
		runtime.MemProfileRate = 64 << 10
	}
	start := time.Now()
	for range *iters {
		iter()
	}
	bare := time.Since(start).Seconds() / float64(*iters)
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("d=%d res=%d batch=%d: %.3f s/iter (bare step)\n", *d, *res, B, bare)
	if !*trainer {
		return
	}
	ds := data.FromTensor(tensor.RandU(r, -1, 1, 4*B, 1, *res, *res), nil, nil)
	var first time.Time
	var secs float64
	tr, err := gan.NewTrainer(m, ds, gan.Options{Iterations: *iters + 1, BatchSize: B, Seed: 1, OnProgress: func(p gan.Progress) {
		if p.Iteration == 1 {
			first = time.Now()
		} else if p.Iteration == *iters+1 {
			secs = time.Since(first).Seconds() / float64(*iters)
		}
	}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("trainer d=%d res=%d batch=%d: %.3f s/iter (%+.1f%% over the bare step)\n", *d, *res, B, secs, 100*(secs/bare-1))
}
