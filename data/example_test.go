package data_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/data"
)

// Read a folder of images with one sub-folder per class, hold some out for
// evaluation, and draw shuffled mini-batches from the rest.
func Example() {
	ds, err := data.ImageFolder("testdata/clipart", data.Resolution(32), data.Gray())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.Len(), "images,", len(ds.Skipped()), "skipped, classes", ds.Classes())

	train, heldOut := data.Split(ds, 2, rand.New(rand.NewPCG(1, 2)))
	fmt.Println("train", train.Len(), "held out", heldOut.Len())

	loader := data.NewLoader(train, 4, rand.New(rand.NewPCG(3, 4)))
	for range 3 {
		x, labels := loader.Next()
		fmt.Println(x.Shape(), labels, "epoch", loader.Epoch())
	}
	// Output:
	// 7 images, 0 skipped, classes [icons symbols]
	// train 5 held out 2
	// [4 1 32 32] [0 1 0 1] epoch 0
	// [4 1 32 32] [1 0 0 1] epoch 1
	// [4 1 32 32] [1 1 0 1] epoch 2
}
