package gan_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
)

// A GAN trained on the shipped MNIST part with a run folder, stopped after
// two iterations (as Ctrl-C or a kill would), then resumed: the second call
// continues from the checkpoint the first one wrote.
func Example() {
	ds, _ := shipped.MNIST(data.Resolution(32))
	m, _ := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 4}, rand.New(rand.NewPCG(1, 2)))
	dir, _ := os.MkdirTemp("", "gan-example")
	defer os.RemoveAll(dir)
	ctx, stop := context.WithCancel(context.Background())
	opts := gan.Options{Iterations: 4, BatchSize: 16, Seed: 1, Dir: dir, Resume: true}
	opts.OnProgress = func(p gan.Progress) {
		if p.Iteration == 2 {
			stop() // stands in for Ctrl-C
		}
	}
	res, err := gan.Train(ctx, m, ds, opts)
	fmt.Println("stopped at", res.Iteration, errors.Is(err, context.Canceled))

	opts.OnProgress = nil
	res, err = gan.Train(context.Background(), nil, ds, opts) // the model comes from the checkpoint
	fmt.Println("resumed to", res.Iteration, err)
	// Output:
	// stopped at 2 true
	// resumed to 4 <nil>
}

// Samples from a model as a grid, as torchvision's save_image writes it.
func ExampleSaveGrid() {
	m, _ := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 4}, rand.New(rand.NewPCG(1, 2)))
	images := m.G.Sample(16, rand.New(rand.NewPCG(3, 4)))
	path := os.TempDir() + "/gantry-grid-example.png"
	defer os.Remove(path)
	fmt.Println(images.Shape(), gan.SaveGrid(path, images, 4))
	// Output: [16 1 32 32] <nil>
}
