// Command finetune adapts the shipped MNIST GAN to a folder of images with
// transfer.FineTune: the library's main job in one small program.
//
//	go run ./examples/finetune                      # a folder made from shipped Fashion-MNIST
//	go run ./examples/finetune -data my-images/     # your own images (sub-folders are classes)
//
// With no -data it writes 500 shipped Fashion-MNIST images as PNG files
// into a temporary folder first, so the program reads a real image folder
// as it would yours. It writes a run folder (checkpoints, grids, metrics)
// under -out and a grid of samples of the fine-tuned model.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
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
	data, source, out string
	iters, n          int
}

func main() {
	var c config
	flag.StringVar(&c.data, "data", "", "folder of target images (default: 500 shipped Fashion-MNIST images written to a temporary folder)")
	flag.StringVar(&c.source, "source", "", "source model file (default: the shipped MNIST source)")
	flag.StringVar(&c.out, "out", "runs/example-finetune", "run folder (resumed when it holds a checkpoint)")
	flag.IntVar(&c.iters, "iters", 200, "fine-tuning iterations")
	flag.IntVar(&c.n, "n", 500, "images written to the temporary folder when -data is not given")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "finetune:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.data == "" {
		dir, err := os.MkdirTemp("", "gantry-fashion-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := writeFolder(dir, c.n); err != nil {
			return err
		}
		c.data = dir
	}
	src, err := sources.MNIST()
	if c.source != "" {
		src, err = gan.Load(c.source)
	}
	if err != nil {
		return err
	}
	// The target: every image of the folder, gray, at the source's size.
	target, err := data.ImageFolder(c.data, data.Resolution(src.Config.Resolution), data.Gray())
	if err != nil {
		return err
	}
	heldOut, err := shipped.FashionMNISTEval(data.Resolution(src.Config.Resolution))
	if err != nil {
		return err
	}
	res, err := transfer.FineTune(ctx, src, target, transfer.Options{
		Iterations: c.iters,
		LR:         1e-4, // the paper's 1e-5 needs thousands of iterations
		Eval:       &gan.Eval{Every: max(1, c.iters/2), Real: heldOut, Samples: 500},
		Dir:        c.out,
		Resume:     true,
	})
	if err != nil {
		return err
	}
	for _, m := range res.Report.Final() {
		fmt.Println(m)
	}
	grid := filepath.Join(c.out, "samples.png")
	x := res.Model.Sampler().Sample(64, rand.New(rand.NewPCG(1, 2)))
	if err := gan.SaveGrid(grid, x, 8); err != nil {
		return err
	}
	fmt.Printf("%d iterations in %s; samples in %s\n", res.Report.Iteration, c.out, grid)
	return nil
}

// writeFolder writes n shipped Fashion-MNIST training images as PNG files,
// one sub-folder per class.
func writeFolder(dir string, n int) error {
	ds, err := shipped.FashionMNIST()
	if err != nil {
		return err
	}
	sub, err := data.BalancedSubset(ds, n, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		return err
	}
	for i := 0; i < sub.Len(); i++ {
		x := sub.Image(i).Data() // [1, 28, 28] in [-1, 1]
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for k, v := range x {
			img.Pix[k] = uint8(max(0, min(255, (v+1)/2*255+0.5)))
		}
		class := filepath.Join(dir, fmt.Sprintf("class%d", sub.Label(i)))
		if err := os.MkdirAll(class, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(class, fmt.Sprintf("%04d.png", i)))
		if err != nil {
			return err
		}
		if err := png.Encode(f, img); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
