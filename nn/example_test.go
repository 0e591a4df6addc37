package nn_test

import (
	"bytes"
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

// Transfer by name: take only the critic ("d.") of a source GAN's state,
// and see every problem of a load that does not fit at once.
func ExampleLoadStateDict() {
	type critic struct {
		Conv *nn.Conv2d `nn:"conv"`
		FC   *nn.Linear `nn:"fc"`
	}
	source := nn.State{
		"g.fc.weight":   tensor.New(8, 4),
		"g.fc.bias":     tensor.New(8),
		"d.conv.weight": tensor.Ones(2, 1, 3, 3),
		"d.conv.bias":   tensor.New(2),
		"d.fc.weight":   tensor.New(1, 8),
		"d.fc.bias":     tensor.New(1),
	}
	d := critic{nn.NewConv2d(1, 2, 3, nn.ConvOptions{}, nil), nn.NewLinear(8, 1, true, nil)}
	err := nn.LoadStateDict(&d, source.WithPrefix("d."), nn.LoadOptions{})
	fmt.Println(err, d.Conv.Weight.Value.At(1, 0, 2, 2))

	wide := critic{nn.NewConv2d(1, 4, 3, nn.ConvOptions{}, nil), nn.NewLinear(8, 1, false, nil)}
	err = nn.LoadStateDict(&wide, source.WithPrefix("d."), nn.LoadOptions{})
	fmt.Println(err)
	// Output:
	// <nil> 1
	// nn: LoadStateDict: 1 unexpected (fc.bias); 2 shape mismatches (conv.bias: state [2], module [4]; conv.weight: state [2 1 3 3], module [4 1 3 3])
}

// A checkpoint round trip through the safetensors format, with the
// architecture in the metadata.
func ExampleSave() {
	type config struct{ In, Out int }
	l := nn.NewLinear(3, 2, true, rand.New(rand.NewPCG(1, 1)))
	meta := map[string]string{}
	nn.SetConfig(meta, config{3, 2})
	var buf bytes.Buffer
	if err := nn.Save(&buf, nn.StateDict(l), meta); err != nil {
		panic(err)
	}
	sd, meta, err := nn.Load(&buf)
	if err != nil {
		panic(err)
	}
	var cfg config
	nn.Config(meta, &cfg)
	l2 := nn.NewLinear(cfg.In, cfg.Out, true, nil)
	fmt.Println(nn.LoadStateDict(l2, sd, nn.LoadOptions{}), tensor.Equal(l.Weight.Value, l2.Weight.Value), sd.Keys())
	// Output:
	// <nil> true [bias weight]
}
