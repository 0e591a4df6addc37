package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// A critic built from the paper's blocks, with its parameter names.
func Example() {
	r := rand.New(rand.NewPCG(1, 2))
	critic := struct {
		In     *nn.Conv2d          `nn:"conv_in"`
		Blocks []*nn.ResidualBlock `nn:"blocks"`
		Out    *nn.Linear          `nn:"fc"`
	}{
		In:     nn.NewConv2d(3, 4, 3, nn.ConvOptions{Padding: nn.PadSame}, r),
		Blocks: []*nn.ResidualBlock{nn.NewResidualBlock(4, 8, 3, nn.ResampleDown, nn.LayerNorms(), r)},
		Out:    nn.NewLinear(8*4*4, 1, true, r),
	}
	for name, p := range nn.Parameters(&critic) {
		fmt.Println(name, p.Value.Shape())
	}
	x := autograd.Const(tensor.RandN(r, 2, 3, 8, 8))
	h := critic.Blocks[0].Forward(critic.In.Forward(x))
	y := critic.Out.Forward(nn.Flatten{}.Forward(h))
	fmt.Println("output", y.Value.Shape())
	// Output:
	// conv_in.weight [4 3 3 3]
	// conv_in.bias [4]
	// blocks.0.norm1.weight [4]
	// blocks.0.norm1.bias [4]
	// blocks.0.conv1.weight [4 4 3 3]
	// blocks.0.norm2.weight [4]
	// blocks.0.norm2.bias [4]
	// blocks.0.conv2.weight [8 4 3 3]
	// blocks.0.conv2.bias [8]
	// blocks.0.shortcut.weight [8 4 1 1]
	// blocks.0.shortcut.bias [8]
	// fc.weight [1 128]
	// fc.bias [1]
	// output [2 1]
}
