package nn_test

import (
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// panics runs fn and returns its panic message, or "" if it did not panic.
func panics(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg, _ = r.(string)
			if msg == "" {
				msg = "non-string panic"
			}
		}
	}()
	fn()
	return ""
}

func TestSetTrainingReachesEveryNorm(t *testing.T) {
	m := newGAN(1)
	cbn := nn.NewCondBatchNorm2d(3, 4)
	model := struct {
		GAN  *gan
		Cond []nn.Norm
	}{m, []nn.Norm{cbn}}
	var bns []interface{ Training() bool }
	var names []string
	for name, sub := range nn.Modules(&model) {
		if b, ok := sub.(interface{ Training() bool }); ok {
			bns = append(bns, b)
			names = append(names, name)
		}
	}
	want := []string{"GAN.g.block.norm1", "GAN.g.block.norm2", "GAN.g.norm", "Cond.0"}
	assert.Equal(t, want, names, "modules with a mode")
	for _, on := range []bool{false, true, false} {
		nn.SetTraining(&model, on)
		for i, b := range bns {
			assert.Equal(t, on, b.Training(), "after SetTraining(%v), %s.Training()", on, names[i])
		}
	}
}

func TestSequentialNames(t *testing.T) {
	s := nn.NewSequential(nn.NewLinear(2, 3, true, nil), nn.ReLU{}, nn.NewLinear(3, 1, false, nil))
	var got []string
	for name := range nn.Parameters(s) {
		got = append(got, name)
	}
	assert.Equal(t, []string{"0.weight", "0.bias", "2.weight"}, got, "Sequential parameter names")
}

func TestFrozenParamsGetNoGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	l := nn.NewLinear(3, 2, true, r)
	l.Weight.Freeze()
	y := autograd.Sum(l.Forward(autograd.Const(tensor.RandN(r, 4, 3))), false)
	autograd.Backward(y)
	assert.Nil(t, l.Weight.Grad, "a frozen weight's gradient")
	assert.NotNil(t, l.Bias.Grad)
	l.Weight.Unfreeze()
	assert.False(t, l.Weight.Frozen(), "Unfreeze left the weight frozen")
}

func TestLinearShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	l := nn.NewLinear(3, 2, true, r)
	for _, shape := range [][]int{{3}, {4, 3}, {5, 4, 3}} {
		y := l.Forward(autograd.Const(tensor.RandN(r, shape...)))
		want := append(slices.Clone(shape[:len(shape)-1]), 2)
		assert.Equal(t, want, y.Value.Shape(), "Linear(%v)", shape)
	}
}

func TestBatchNormEvalUsesRunningStats(t *testing.T) {
	bn := nn.NewBatchNorm2d(2)
	copy(bn.RunningMean.Value.Data(), []float32{1, -1})
	copy(bn.RunningVar.Value.Data(), []float32{4, 0.25})
	nn.SetTraining(bn, false)
	x := tensor.FromSlice([]float32{3, 1, -1, -0.5}, 1, 2, 2, 1)
	y := bn.Forward(autograd.Const(x)).Value.Data()
	assert.InDeltaSlice(t, []float32{1, 0, 0, 1}, y, tolEvalNorm, "eval BatchNorm")
	assert.Zero(t, bn.NumBatchesTracked.Value.Item(), "eval mode counted a batch")
}

func TestMisusePanics(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	x4 := func(shape ...int) *autograd.Var { return autograd.Const(tensor.New(shape...)) }
	cases := []struct {
		name, want string
		fn         func()
	}{
		{"Linear input", "nn: Linear: input [2 4]", func() { nn.NewLinear(3, 2, true, r).Forward(x4(2, 4)) }},
		{"NewLinear size", "nn: NewLinear", func() { nn.NewLinear(0, 2, true, r) }},
		{"Conv2d channels", "nn: Conv2d: input [1 2 4 4]", func() { nn.NewConv2d(3, 2, 3, nn.ConvOptions{}, r).Forward(x4(1, 2, 4, 4)) }},
		{"Conv2d zero channels", "nn: Conv2d: weight [2 0 3 3]: want [out,in,k,k] with at least one channel in and out", func() {
			(&nn.Conv2d{Weight: nn.NewParam(tensor.New(2, 0, 3, 3))}).Forward(x4(1, 0, 4, 4))
		}},
		{"NewConv2d channels", "nn: NewConv2d: in=0 out=2 k=3", func() { nn.NewConv2d(0, 2, 3, nn.ConvOptions{}, r) }},
		{"NewConv2d padding", "nn: NewConv2d", func() { nn.NewConv2d(3, 2, 3, nn.ConvOptions{Padding: -2}, r) }},
		{"BatchNorm2d channels", "nn: BatchNorm2d: input [2 3 2 2], want [N,4,H,W]", func() { nn.NewBatchNorm2d(4).Forward(x4(2, 3, 2, 2)) }},
		{"BatchNorm2d one value per channel", "nn: BatchNorm2d: input [1 4 1 1] has 1 values per channel", func() { nn.NewBatchNorm2d(4).Forward(x4(1, 4, 1, 1)) }},
		{"LayerNorm rank", "nn: LayerNorm: input [2 3]", func() { nn.NewLayerNorm(3).Forward(x4(2, 3)) }},
		{"CondBatchNorm2d labels", "nn: CondBatchNorm2d: input [2 3 2 2] with 1 labels", func() { nn.NewCondBatchNorm2d(2, 3).Normalize(x4(2, 3, 2, 2), []int{0}) }},
		{"CondBatchNorm2d label range", "nn: CondBatchNorm2d: label 5 outside [0,2)", func() { nn.NewCondBatchNorm2d(2, 3).Normalize(x4(2, 3, 2, 2), []int{0, 5}) }},
		{"block without labels", "nn: CondBatchNorm2d", func() {
			nn.NewResidualBlock(2, 2, 3, nn.ResampleUp, nn.CondBatchNorms(2, nn.UseRunningStats), r).Forward(x4(2, 2, 2, 2))
		}},
		{"block input", "nn: ResidualBlock: input [1 3 4 4], want [N,2,H,W]", func() {
			nn.NewResidualBlock(2, 2, 3, nn.ResampleNone, nil, r).Forward(x4(1, 3, 4, 4))
		}},
		{"block even kernel", "nn: NewResidualBlock", func() { nn.NewResidualBlock(2, 2, 4, nn.ResampleNone, nil, r) }},
		{"Embedding index", "nn: Embedding: index 7", func() { nn.NewEmbedding(3, 2, r).Forward([]int{1, 7}) }},
		{"MeanPool size", "nn: MeanPool", func() { nn.MeanPool{}.Forward(x4(1, 1, 1, 4)) }},
		{"Reshape sizes", "nn: Reshape", func() { nn.Reshape{Shape: []int{3, 2}}.Forward(x4(2, 5)) }},
		{"Fans", "nn: Fans", func() { nn.Fans([]int{3}) }},
		{"PaperHeUniform", "nn: PaperHeUniform", func() { nn.PaperHeUniform(tensor.New(3, 2), 1, r) }},
		{"duplicate names", "nn: StateDict: two members", func() {
			nn.StateDict(struct {
				A *nn.Linear `nn:"x"`
				B *nn.Linear `nn:"x"`
			}{nn.NewLinear(1, 1, true, nil), nn.NewLinear(1, 1, true, nil)})
		}},
	}
	for _, c := range cases {
		got := panics(c.fn)
		assert.True(t, strings.HasPrefix(got, c.want), "%s: panic %q; want prefix %q", c.name, got, c.want)
	}
}

// stats returns the mean, standard deviation and largest magnitude of t.
func stats(t *tensor.Tensor) (mean, std, maxAbs float64) {
	d := t.Data()
	for _, v := range d {
		mean += float64(v)
		maxAbs = max(maxAbs, math.Abs(float64(v)))
	}
	mean /= float64(len(d))
	for _, v := range d {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(d))), maxAbs
}

func TestInitialisers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name  string
		shape []int
		fill  func(w *tensor.Tensor)
		std   float64
		bound float64 // 0 for unbounded (normal)
	}{
		{"PaperHeUniform/s1", []int{32, 16, 3, 3}, func(w *tensor.Tensor) { nn.PaperHeUniform(w, 1, r) },
			math.Sqrt(4.0 / (16*9 + 32*9)), math.Sqrt(3 * 4.0 / (16*9 + 32*9))},
		{"PaperHeUniform/s2", []int{32, 16, 3, 3}, func(w *tensor.Tensor) { nn.PaperHeUniform(w, 2, r) },
			math.Sqrt(4.0 / (16*9 + 32*9/4.0)), math.Sqrt(3 * 4.0 / (16*9 + 32*9/4.0))},
		{"GlorotUniform/1x1", []int{64, 32, 1, 1}, func(w *tensor.Tensor) { nn.GlorotUniform(w, r) },
			math.Sqrt(2.0 / 96), math.Sqrt(6.0 / 96)},
		{"GlorotUniform/linear", []int{40, 60}, func(w *tensor.Tensor) { nn.GlorotUniform(w, r) },
			math.Sqrt(2.0 / 100), math.Sqrt(6.0 / 100)},
		{"KaimingNormal", []int{64, 50}, func(w *tensor.Tensor) { nn.KaimingNormal(w, 0, r) }, math.Sqrt(2.0 / 50), 0},
		{"KaimingUniform/leaky", []int{64, 8, 3, 3}, func(w *tensor.Tensor) { nn.KaimingUniform(w, 0.2, r) },
			math.Sqrt(2/1.04) / math.Sqrt(72), math.Sqrt(3*2/1.04) / math.Sqrt(72)},
		{"TorchDefault", []int{50, 25}, func(w *tensor.Tensor) { nn.TorchDefault(w, nil, r) }, 0.2 / math.Sqrt(3), 0.2},
		{"DCGANNormal", []int{100, 40}, func(w *tensor.Tensor) { nn.DCGANNormal(w, r) }, 0.02, 0},
	}
	for _, c := range cases {
		w := tensor.New(c.shape...)
		c.fill(w)
		mean, std, maxAbs := stats(w)
		assert.InEpsilon(t, c.std, std, tolInitStd, "%s: std", c.name)
		assert.InDelta(t, 0, mean, 2*tolInitStd*c.std, "%s: mean", c.name)
		if c.bound > 0 {
			assert.LessOrEqual(t, maxAbs, c.bound, "%s: max |w| within the bound", c.name)
			assert.GreaterOrEqual(t, maxAbs, (1-tolInitStd)*c.bound, "%s: max |w| just under the bound", c.name)
		}
	}
	// The same seed gives the same weights.
	a := nn.NewResidualBlock(4, 8, 3, nn.ResampleDown, nn.LayerNorms(), rand.New(rand.NewPCG(9, 9)))
	b := nn.NewResidualBlock(4, 8, 3, nn.ResampleDown, nn.LayerNorms(), rand.New(rand.NewPCG(9, 9)))
	equalStates(t, nn.StateDict(a), nn.StateDict(b))
	// Block biases start at 0 and norms at weight 1, bias 0.
	for name, p := range nn.Parameters(a) {
		_, _, maxAbs := stats(p.Value)
		switch {
		case strings.HasSuffix(name, "bias"):
			assert.Zero(t, maxAbs, "%s starts at max |b|", name)
		case strings.HasPrefix(name, "norm") && strings.HasSuffix(name, "weight"):
			assert.Equal(t, 1.0, maxAbs, "%s starts at %v; want 1", name, p.Value)
		}
	}
	_, _, m1 := stats(a.Conv1.Weight.Value)
	bound := math.Sqrt(3 * 4.0 / (4*9 + 4*9))
	assert.LessOrEqual(t, m1, bound, "conv1 max |w| within the paper's bound")
	assert.GreaterOrEqual(t, m1, 0.9*bound, "conv1 max |w| near the paper's bound (72 draws)")
	_, _, ms := stats(a.Shortcut.Weight.Value)
	assert.LessOrEqual(t, ms, math.Sqrt(6.0/12), "shortcut max |w| within the Glorot bound")
}

// listed names its members itself, as a module with a map of heads might.
type listed struct {
	heads map[string]*nn.BatchNorm2d
}

func (l *listed) Members() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, k := range []string{"b", "a"} {
			if !yield("head_"+k, l.heads[k]) {
				return
			}
		}
	}
}

func TestListerModules(t *testing.T) {
	l := &listed{heads: map[string]*nn.BatchNorm2d{"a": nn.NewBatchNorm2d(1), "b": nn.NewBatchNorm2d(2)}}
	m := struct {
		Heads *listed `nn:"heads"`
	}{l}
	var names []string
	for name := range nn.Buffers(&m) {
		names = append(names, name)
	}
	want := []string{
		"heads.head_b.running_mean", "heads.head_b.running_var", "heads.head_b.num_batches_tracked",
		"heads.head_a.running_mean", "heads.head_a.running_var", "heads.head_a.num_batches_tracked",
	}
	assert.Equal(t, want, names, "Buffers names")
	nn.SetTraining(&m, false)
	assert.False(t, l.heads["a"].Training(), "SetTraining did not reach the members of a Lister")
	assert.False(t, l.heads["b"].Training(), "SetTraining did not reach the members of a Lister")
}
