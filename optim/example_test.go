package optim_test

import (
	"fmt"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

// line is a module with two parameters, y = w·x + b.
type line struct {
	W *nn.Param
	B *nn.Param `nn:"b"`
}

// Fit a line to three points with Adam, a warm-up then cosine schedule, a
// smaller rate for the bias, and a checkpoint of the optimizer's state.
func Example() {
	m := &line{W: nn.NewParam(tensor.Scalar(0)), B: nn.NewParam(tensor.Scalar(0))}
	xs := autograd.Const(tensor.FromSlice([]float32{0, 1, 2}))
	ys := autograd.Const(tensor.FromSlice([]float32{1, 3, 5})) // y = 2x + 1

	ps := optim.Named(nn.Parameters(m))
	cfg := optim.DefaultAdam()
	cfg.LR = 0.1
	opt := optim.NewAdam(optim.Filter(ps, optim.HasPrefix("W")), cfg)
	cfg.LR = 0.05
	opt.AddGroup(optim.Filter(ps, optim.HasPrefix("b")), cfg)
	sched := optim.NewScheduler(opt, optim.Warmup(10, optim.Cosine(290)))

	for range 300 {
		opt.ZeroGrad()
		pred := autograd.Add(autograd.Mul(xs, m.W.Var), m.B.Var)
		loss := autograd.Mean(autograd.Square(autograd.Sub(pred, ys)), false)
		autograd.Backward(loss)
		opt.Step()
		sched.Step()
	}
	fmt.Printf("w = %.2f, b = %.2f\n", m.W.Value.Item(), m.B.Value.Item())

	st := opt.State()
	fmt.Println(st.Optimizer, st.Steps["W"], st.Tensors["exp_avg_sq.b"].Shape())
	// Output:
	// w = 2.00, b = 1.00
	// Adam 300 []
}

// Split a model's parameters into groups by name: the first block learns
// ten times slower.
func ExampleFilter() {
	type block struct{ W *nn.Param }
	model := struct{ Blocks []block }{Blocks: []block{
		{nn.NewParam(tensor.New(2, 2))},
		{nn.NewParam(tensor.New(2, 2))},
	}}
	ps := optim.Named(nn.Parameters(model))
	early := optim.HasPrefix("Blocks.0")
	late := func(name string) bool { return !early(name) }

	opt := optim.NewSGD(optim.Filter(ps, early), optim.DefaultSGD(1e-4))
	opt.AddGroup(optim.Filter(ps, late), optim.DefaultSGD(1e-3))
	for _, p := range opt.Params() {
		fmt.Println(p.Name)
	}
	fmt.Println(opt.LR(0), opt.LR(1))
	// Output:
	// Blocks.0.W
	// Blocks.1.W
	// 0.0001 0.001
}
