package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/nn/losses"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

// IWOptions configures IW. The zero value gives the defaults.
type IWOptions struct {
	// Steps is the number of critic updates; 0 means 1000.
	Steps int
	// BatchSize is the number of real and of generated images per update
	// and per evaluation batch; 0 means 64 (capped at the training set's
	// size for updates).
	BatchSize int
	// LR is Adam's learning rate; 0 means 1e-4. Adam's betas are (0, 0.9),
	// as in WGAN-GP and the paper's training.
	LR float64
	// Lambda is the weight of the gradient penalty; 0 means 10.
	Lambda float64
	// Samples is the number of generated images the trained critic is
	// evaluated on; 0 means as many as the evaluation set holds.
	Samples int
	// Width is the channel count of the default critic's first layer; 0
	// means 32. It is ignored when Critic is set.
	Width int
	// Critic, if set, builds the critic for images of shape [C, H, W],
	// initialised from r; it must return one score per image ([N, 1] or
	// [N]) and must not use batch statistics (the gradient penalty is per
	// image). Its parameters are found with nn.Parameters. The default is
	// NewIWCritic.
	Critic func(c, h, w int, r *rand.Rand) nn.Module
}

// IWError reports that IW's critic training diverged.
type IWError struct {
	Step int     // the critic step at which the loss stopped being finite
	Loss float64 // the loss then
}

func (e *IWError) Error() string {
	return fmt.Sprintf("metrics: IW: critic loss %v at step %d; lower IWOptions.LR", e.Loss, e.Step)
}

// NewIWCritic returns IW's default critic for [c, h, w] images: three 3×3
// convolutions of stride 2 with width, 2·width and 4·width channels, each
// followed by a leaky ReLU of slope 0.2, then a linear layer to one score. It
// has no normalisation, so the gradient penalty stays per image.
//
// It panics if a size is not positive.
func NewIWCritic(c, h, w, width int, r *rand.Rand) nn.Module {
	if c < 1 || h < 1 || w < 1 || width < 1 {
		panic(fmt.Sprintf("metrics: NewIWCritic: images [%d, %d, %d], width %d; want positive sizes", c, h, w, width))
	}
	conv := nn.ConvOptions{Stride: 2, Padding: 1}
	layers := []nn.Module{}
	in := c
	for i := range 3 {
		out := width << i
		layers = append(layers, nn.NewConv2d(in, out, 3, conv, r), nn.LeakyReLU{Slope: 0.2})
		in = out
		h, w = (h-1)/2+1, (w-1)/2+1
	}
	layers = append(layers, nn.Flatten{}, nn.NewLinear(in*h*w, 1, true, r))
	return nn.NewSequential(layers...)
}

// IW returns the independent Wasserstein critic metric of Danihelka et al.
// (2017) as the Transferring GANs paper reports it: a new critic f is trained
// from scratch with the WGAN-GP objective,
//
//	E f(G(z)) − E f(x) + λ E (‖∇f(x̂)‖ − 1)²,  x̂ = x + α(G(z) − x), α ~ U[0, 1]
//
// on real images x from train against fresh samples of the frozen generator
// gen (Adam, lr o.LR, betas (0, 0.9); the penalty is losses.GradientPenalty,
// the one the gan trainer uses); then, without further training,
//
//	IW = E_gen f(G(z)) − E_eval f(x)
//
// over o.Samples new samples and every image of eval. IW estimates minus the
// Wasserstein distance between the generator and the held-out data: it is
// negative, and higher (closer to 0) is better. train and eval must be
// disjoint from each other and from the images the generator was trained on.
// Result.N1 and N2 are the evaluation images and samples, Steps the critic
// updates; comparing IW values needs the same critic, steps and data.
//
// gen's images are used as constants; r drives the critic's initialisation,
// the batches, ε and the sampler. Training that produces a non-finite loss
// stops with an *IWError.
//
// It panics if train or eval is empty, their image shapes differ, o holds
// negative values, r is nil, or gen returns a tensor not of shape
// [b, C, H, W] with the datasets' [C, H, W].
func IW(gen Sampler, train, eval data.Dataset, r *rand.Rand, o IWOptions) (Result, error) {
	if train.Len() == 0 || eval.Len() == 0 {
		panic(fmt.Sprintf("metrics: IW: %d training and %d evaluation images; want at least 1 of each", train.Len(), eval.Len()))
	}
	shape := data.ImageShape(train)
	if es := data.ImageShape(eval); !slices.Equal(es, shape) {
		panic(fmt.Sprintf("metrics: IW: training images %v, evaluation images %v; want the same shape", shape, es))
	}
	if o.Steps < 0 || o.BatchSize < 0 || o.LR < 0 || o.Lambda < 0 || o.Samples < 0 || o.Width < 0 {
		panic(fmt.Sprintf("metrics: IW: options %+v; want no negative values", o))
	}
	if r == nil {
		panic("metrics: IW: nil *rand.Rand")
	}
	if o.Steps == 0 {
		o.Steps = 1000
	}
	if o.BatchSize == 0 {
		o.BatchSize = 64
	}
	if o.LR == 0 {
		o.LR = 1e-4
	}
	if o.Lambda == 0 {
		o.Lambda = 10
	}
	if o.Samples == 0 {
		o.Samples = eval.Len()
	}
	if o.Width == 0 {
		o.Width = 32
	}
	var critic nn.Module
	if o.Critic != nil {
		critic = o.Critic(shape[0], shape[1], shape[2], r)
	} else {
		critic = NewIWCritic(shape[0], shape[1], shape[2], o.Width, r)
	}
	cfg := optim.DefaultAdam()
	cfg.LR, cfg.Beta1, cfg.Beta2 = o.LR, 0, 0.9
	opt := optim.NewAdam(optim.Named(nn.Parameters(critic)), cfg)

	sample := func(b int) *tensor.Tensor {
		x := gen(b, r)
		if sh := x.Shape(); len(sh) != 4 || sh[0] != b || !slices.Equal(sh[1:], shape) {
			panic(fmt.Sprintf("metrics: IW: sampler returned shape %v for %d images; want [%d %d %d %d]", sh, b, b, shape[0], shape[1], shape[2]))
		}
		return x
	}
	score := func(x *autograd.Var) *autograd.Var {
		return autograd.Reshape(critic.Forward(x), -1)
	}

	bs := min(o.BatchSize, train.Len())
	loader := data.NewLoader(train, bs, r)
	for step := range o.Steps {
		real, _ := loader.Next()
		fake := sample(bs)
		gp := losses.GradientPenalty(score, real, fake, o.Lambda, r).Loss
		w := autograd.Sub(autograd.MeanAll(score(autograd.Const(fake))), autograd.MeanAll(score(autograd.Const(real))))
		loss := autograd.Add(w, gp)
		if l := float64(loss.Item()); math.IsNaN(l) || math.IsInf(l, 0) {
			return Result{}, &IWError{Step: step, Loss: l}
		}
		opt.ZeroGrad()
		autograd.Backward(loss)
		opt.Step()
	}

	// Evaluate the trained critic. Its outputs are read as plain values, so
	// the graphs recorded through its parameters are garbage at once.
	var evalSum, genSum float64
	func() {
		per := shape[0] * shape[1] * shape[2]
		cp, _ := eval.(data.Copier)
		for start := 0; start < eval.Len(); start += o.BatchSize {
			b := min(o.BatchSize, eval.Len()-start)
			buf := make([]float32, b*per)
			for i := range b {
				dst := buf[i*per : (i+1)*per]
				if cp != nil {
					cp.CopyImage(dst, start+i)
				} else {
					copy(dst, eval.Image(start+i).Data())
				}
			}
			evalSum += sumScores(score(autograd.Const(tensor.FromSlice(buf, b, shape[0], shape[1], shape[2]))))
		}
		for start := 0; start < o.Samples; start += o.BatchSize {
			b := min(o.BatchSize, o.Samples-start)
			genSum += sumScores(score(autograd.Const(sample(b))))
		}
	}()
	v := genSum/float64(o.Samples) - evalSum/float64(eval.Len())
	res := Result{Metric: "IW", Value: v, N1: eval.Len(), N2: o.Samples, Steps: o.Steps}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return res, &IWError{Step: o.Steps, Loss: v}
	}
	return res, nil
}

func sumScores(s *autograd.Var) float64 {
	var t float64
	for _, v := range s.Value.Data() {
		t += float64(v)
	}
	return t
}
