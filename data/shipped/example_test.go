package shipped_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
)

// A 100-image Fashion-MNIST target at 32×32, 10 of each class, for a
// limited-data transfer experiment, and the held-out set to evaluate it.
func Example() {
	full, err := shipped.FashionMNIST(data.Resolution(32))
	if err != nil {
		fmt.Println(err)
		return
	}
	target, err := data.BalancedSubset(full, 100, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		fmt.Println(err)
		return
	}
	eval, err := shipped.FashionMNISTEval(data.Resolution(32))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(target.Len(), "target images of", data.ImageShape(target), "from", full.Len())
	fmt.Println(eval.Len(), "held-out images; class 9 is", eval.Classes()[9])
	// Output:
	// 100 target images of [1 32 32] from 5000
	// 1000 held-out images; class 9 is Ankle boot
}
