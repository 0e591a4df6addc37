// Command conditional turns the shipped unconditional MNIST GAN into a
// class-conditional one for Fashion-MNIST (the paper's section 5): every
// class's conditional batch-norm scale and offset start as copies of the
// source's, the critic gets a new class head, and the target's labels drive
// the AC-GAN losses. It writes one row of samples per class.
//
//	go run ./examples/conditional
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/transfer"
)

type config struct {
	source, out string
	iters, n    int
}

func main() {
	var c config
	flag.StringVar(&c.source, "source", "", "source model file (default: the shipped MNIST source)")
	flag.StringVar(&c.out, "out", "runs/example-conditional", "run folder (resumed when it holds a checkpoint)")
	flag.IntVar(&c.iters, "iters", 200, "fine-tuning iterations")
	flag.IntVar(&c.n, "n", 1000, "labelled Fashion-MNIST training images (class-balanced)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "conditional:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	src, err := sources.MNIST()
	if c.source != "" {
		src, err = gan.Load(c.source)
	}
	if err != nil {
		return err
	}
	all, err := shipped.FashionMNIST(data.Resolution(src.Config.Resolution))
	if err != nil {
		return err
	}
	target, err := data.BalancedSubset(all, c.n, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		return err
	}
	res, err := transfer.FineTune(ctx, src, target, transfer.Options{
		Iterations:   c.iters,
		LR:           1e-4,
		Classes:      10, // labels 0-9 of the target
		Conditioning: gan.CondBatchNorm,
		Dir:          c.out,
		Resume:       true,
	})
	if err != nil {
		return err
	}
	// Eight samples of each class, one class a row.
	labels := make([]int, 0, 80)
	for class := range 10 {
		for range 8 {
			labels = append(labels, class)
		}
	}
	x := res.Model.Sampler().SampleLabels(len(labels), labels, rand.New(rand.NewPCG(1, 2)))
	grid := filepath.Join(c.out, "classes.png")
	if err := gan.SaveGrid(grid, x, 8); err != nil {
		return err
	}
	fmt.Printf("%d iterations; one row per class (%v) in %s\n", res.Report.Iteration, shipped.FashionClasses, grid)
	return nil
}
