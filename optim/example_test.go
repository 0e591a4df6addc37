package optim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"

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

// Save a model and its optimizer in one safetensors checkpoint (tensors
// under "model." and "optim.", the optimizer's scalars as JSON metadata),
// load both into fresh objects, and continue: the resumed run follows the
// uninterrupted one exactly.
func Example_checkpoint() {
	newModel := func(seed uint64) *nn.Sequential {
		r := rand.New(rand.NewPCG(seed, 0))
		return nn.NewSequential(nn.NewLinear(3, 8, true, r), nn.Tanh{}, nn.NewLinear(8, 1, true, r))
	}
	x := autograd.Const(tensor.FromSlice([]float32{1, 2, 3, -1, 0, 1}, 2, 3))
	train := func(m *nn.Sequential, opt optim.Optimizer, steps int) {
		for range steps {
			opt.ZeroGrad()
			autograd.Backward(autograd.Mean(autograd.Square(m.Forward(x)), false))
			opt.Step()
		}
	}
	cfg := optim.DefaultAdam()
	cfg.LR, cfg.Beta1, cfg.Beta2 = 1e-2, 0, 0.9

	// Train 5 steps, then checkpoint.
	m := newModel(1)
	opt := optim.NewAdam(optim.Named(nn.Parameters(m)), cfg)
	train(m, opt, 5)
	st := opt.State()
	sd := nn.StateDict(m).AddPrefix("model.")
	maps.Copy(sd, nn.State(st.Tensors).AddPrefix("optim."))
	scalars, _ := json.Marshal(st)
	var file bytes.Buffer
	if err := nn.Save(&file, sd, map[string]string{"optim": string(scalars)}); err != nil {
		panic(err)
	}
	train(m, opt, 5) // the uninterrupted run

	// Resume from the checkpoint into fresh objects.
	sd2, meta, err := nn.Load(&file)
	if err != nil {
		panic(err)
	}
	m2 := newModel(2)
	if err := nn.LoadStateDict(m2, sd2.WithPrefix("model."), nn.LoadOptions{}); err != nil {
		panic(err)
	}
	var st2 optim.State
	if err := json.Unmarshal([]byte(meta["optim"]), &st2); err != nil {
		panic(err)
	}
	st2.Tensors = sd2.WithPrefix("optim.")
	opt2 := optim.NewAdam(optim.Named(nn.Parameters(m2)), cfg)
	if err := opt2.LoadState(&st2); err != nil {
		panic(err)
	}
	train(m2, opt2, 5)

	same := true
	for name, p := range nn.Parameters(m) {
		same = same && tensor.Equal(p.Value, nn.StateDict(m2)[name])
	}
	fmt.Println("steps:", st2.Steps["0.weight"], "resumed run identical:", same)
	// Output:
	// steps: 5 resumed run identical: true
}
