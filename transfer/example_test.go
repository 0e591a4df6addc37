package transfer_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/transfer"
)

// Fine-tune an MNIST GAN on Fashion-MNIST, with the critic's first two
// blocks frozen. (Here the source is trained for a moment first; a real one
// comes from gan.Load or package sources.)
func ExampleFineTune() {
	digits, _ := shipped.MNIST(data.Resolution(32))
	src, _ := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 4}, rand.New(rand.NewPCG(1, 2)))
	gan.Train(context.Background(), src, digits, gan.Options{Iterations: 2, BatchSize: 16})

	clothes, _ := shipped.FashionMNIST(data.Resolution(32))
	res, err := transfer.FineTune(context.Background(), src, clothes, transfer.Options{Iterations: 2, FreezeD: 2})
	fmt.Println(res.Report.Iteration, res.Report.Options.LR, res.Report.Options.BatchSize, err)
	// Output: 2 1e-05 16 <nil>
}
