// Command fromtorch brings a model pretrained with the PyTorch twin
// (scripts/torch/paper_gan.py) into gantry: it loads the checkpoint with
// gan.Load (which checks its config and checksum), writes an 8×8 grid of
// samples, and, with -target, transfers it: it fine-tunes G and D from the
// pretrained weights on a shipped target set with gan.Train (the paper's
// fine-tuning learning rate 1e-5) and writes a run folder.
//
//	go run ./internal/cmd/fromtorch -model runs/torch/model-final.safetensors -grid source.png
//	go run ./internal/cmd/fromtorch -model runs/torch/model-final.safetensors \
//	    -target fashion -iters 1000 -out runs/transfer
//
// See docs/PYTORCH.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
)

func main() {
	model := flag.String("model", "", "checkpoint written by scripts/torch/paper_gan.py (or gan.Save)")
	grid := flag.String("grid", "", "write an 8x8 grid of samples to this PNG")
	target := flag.String("target", "", "transfer to a shipped set: fashion or mnist (empty: no transfer)")
	iters := flag.Int("iters", 1000, "transfer iterations")
	batch := flag.Int("batch", 64, "transfer batch size")
	out := flag.String("out", "", "run folder of the transfer")
	flag.Parse()
	if *model == "" || (*target != "" && *out == "") {
		fmt.Fprintln(os.Stderr, "usage: fromtorch -model FILE [-grid PNG] [-target fashion|mnist -out DIR [-iters N] [-batch B]]")
		os.Exit(2)
	}
	if err := run(*model, *grid, *target, *out, *iters, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "fromtorch:", err)
		os.Exit(1)
	}
}

func run(model, grid, target, out string, iters, batch int) error {
	m, err := gan.Load(model)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s, G %d and D %d parameters, EMA %v\n", model, m.Config, gan.NumParams(m.G), gan.NumParams(m.D), m.EMA != nil)
	if grid != "" {
		if err := gan.SaveGrid(grid, m.Sampler().Sample(64, rand.New(rand.NewPCG(1, 2))), 8); err != nil {
			return err
		}
		fmt.Println("wrote", grid)
	}
	if target == "" {
		return nil
	}
	opts := []data.Option{data.Resolution(m.Config.Resolution)}
	if m.Config.Channels == 3 {
		opts = append(opts, data.RGB())
	}
	var ds *data.Memory
	switch target {
	case "fashion":
		ds, err = shipped.FashionMNIST(opts...)
	case "mnist":
		ds, err = shipped.MNIST(opts...)
	default:
		return fmt.Errorf("unknown -target %q; want fashion or mnist", target)
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := gan.Train(ctx, m, ds, gan.Options{
		Iterations: iters, BatchSize: batch, LRG: 1e-5, LRD: 1e-5, Dir: out,
		OnProgress: func(p gan.Progress) {
			fmt.Printf("it %d/%d  loss_d %.3f  loss_g %.3f  %.2f s/it\n", p.Iteration, p.Iterations, p.LossD, p.LossG, 1/p.ItPerSec)
		},
	})
	if err != nil {
		return err
	}
	fmt.Printf("transferred: %d iterations, %.2f s/it, %s\n", res.Iteration, res.SecPerIter, res.Checkpoint)
	return nil
}
