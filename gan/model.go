package gan

import (
	"fmt"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// Generator is the paper's ResNet generator: z → Linear → [8d, s, s] → four
// residual up-blocks (8d→8d→4d→2d→d) → batch norm → ReLU → 3×3 conv → tanh,
// with s = Resolution/16. Its batch norms always normalise with the batch's
// statistics, as the paper's code does, also when sampling.
//
// Parameter names (nn.Parameters) are those of the PyTorch twin:
// input.weight, blocks.0.norm1.weight, …, norm.weight, output.weight.
type Generator struct {
	Config Config              `nn:"-"`
	Input  *nn.Linear          `nn:"input"`
	Blocks []*nn.ResidualBlock `nn:"blocks"`
	Norm   nn.Norm             `nn:"norm"`
	Output *nn.Conv2d          `nn:"output"`
}

// Critic is the paper's ResNet critic: 3×3 conv → d, four residual
// down-blocks (d→2d→4d→8d→8d) with per-sample layer norm over (C, H, W), then
// a linear layer to one score. A conditional critic has a second linear head,
// Classifier, to Classes logits (AC-GAN). There is no normalisation or
// activation between the last block and the heads.
type Critic struct {
	Config     Config              `nn:"-"`
	Input      *nn.Conv2d          `nn:"input"`
	Blocks     []*nn.ResidualBlock `nn:"blocks"`
	Output     *nn.Linear          `nn:"output"`
	Classifier *nn.Linear          `nn:"classifier"`
}

func mustConfig(op string, cfg Config) Config {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("gan: %s: %v", op, err))
	}
	return cfg.WithDefaults()
}

// linear returns a Linear layer with Glorot-uniform weights and zero bias,
// the paper's default for linear layers.
func linear(in, out int, r *rand.Rand) *nn.Linear {
	l := nn.NewLinear(in, out, true, nil)
	if r != nil {
		nn.GlorotUniform(l.Weight.Value, r)
	}
	return l
}

// NewGenerator returns a generator for cfg (zero fields take the paper's
// values) initialised from r as the paper's code does: uniform weights with
// the "glorot-he" rule for 3×3 convolutions, Glorot for the linear layer and
// the 1×1 shortcuts, zero biases, batch-norm scales 1 and offsets 0. A nil r
// leaves the weights zero, for a model about to be loaded.
//
// It panics if cfg is invalid (Config.Validate).
func NewGenerator(cfg Config, r *rand.Rand) *Generator {
	cfg = mustConfig("NewGenerator", cfg)
	d, s := cfg.Width, cfg.Start()
	in := cfg.ZDim
	if cfg.Conditioning == CondConcat {
		in += cfg.Classes
	}
	norms := nn.BatchNorms(nn.AlwaysBatchStats)
	if cfg.Conditioning == CondBatchNorm {
		norms = nn.CondBatchNorms(cfg.Classes, nn.AlwaysBatchStats)
	}
	g := &Generator{Config: cfg, Input: linear(in, 8*d*s*s, r)}
	for _, io := range [][2]int{{8 * d, 8 * d}, {8 * d, 4 * d}, {4 * d, 2 * d}, {2 * d, d}} {
		g.Blocks = append(g.Blocks, nn.NewResidualBlock(io[0], io[1], 3, nn.ResampleUp, norms, r))
	}
	g.Norm = norms(d)
	g.Output = nn.NewConv2d(d, cfg.Channels, 3, nn.ConvOptions{Padding: nn.PadSame}, nil)
	if r != nil {
		nn.PaperHeUniform(g.Output.Weight.Value, 1, r)
	}
	return g
}

// NewCritic returns a critic for cfg (zero fields take the paper's values)
// initialised from r as the paper's code does (Glorot for the input
// convolution, the heads and the shortcuts, "glorot-he" for the blocks' 3×3
// convolutions, zero biases, layer-norm scales 1 and offsets 0). A nil r
// leaves the weights zero.
//
// It panics if cfg is invalid (Config.Validate).
func NewCritic(cfg Config, r *rand.Rand) *Critic {
	cfg = mustConfig("NewCritic", cfg)
	d, s := cfg.Width, cfg.Start()
	c := &Critic{Config: cfg, Input: nn.NewConv2d(cfg.Channels, d, 3, nn.ConvOptions{Padding: nn.PadSame}, nil)}
	if r != nil {
		nn.GlorotUniform(c.Input.Weight.Value, r)
	}
	for _, io := range [][2]int{{d, 2 * d}, {2 * d, 4 * d}, {4 * d, 8 * d}, {8 * d, 8 * d}} {
		c.Blocks = append(c.Blocks, nn.NewResidualBlock(io[0], io[1], 3, nn.ResampleDown, nn.LayerNorms(), r))
	}
	c.Output = linear(8*d*s*s, 1, r)
	if cfg.Classes > 0 {
		c.Classifier = linear(8*d*s*s, cfg.Classes, r)
	}
	return c
}

// Forward maps latent vectors z [N, ZDim] to images [N, Channels, R, R] in
// [-1, 1]. It is ForwardLabels without labels, for unconditional generators.
//
// It panics if z is not [N, ZDim] or the generator is conditional.
func (g *Generator) Forward(z *autograd.Var) *autograd.Var { return g.ForwardLabels(z, nil) }

// ForwardLabels maps z [N, ZDim] and, for a conditional generator, one class
// label per sample to images [N, Channels, R, R]. The batch norms use the
// batch's statistics, so a sample depends on the others of its batch (as in
// the paper's code); in training mode their running statistics are updated.
//
// It panics if z is not [N, ZDim], labels are missing for a conditional
// generator or given to an unconditional one, or a label is out of range.
func (g *Generator) ForwardLabels(z *autograd.Var, labels []int) *autograd.Var {
	cfg := g.Config
	if z.Value.Dims() != 2 || z.Value.Dim(1) != cfg.ZDim {
		panic(fmt.Sprintf("gan: Generator: z %v; want [N %d]", z.Value.Shape(), cfg.ZDim))
	}
	n := z.Value.Dim(0)
	checkLabels("Generator", cfg, labels, n)
	h := z
	if cfg.Conditioning == CondConcat {
		h = autograd.Concat(1, z, autograd.Const(tensor.OneHot(labels, cfg.Classes)))
	}
	if cfg.Conditioning != CondBatchNorm {
		labels = nil
	}
	s := cfg.Start()
	h = autograd.Reshape(g.Input.Forward(h), n, 8*cfg.Width, s, s)
	for _, b := range g.Blocks {
		h = b.ForwardLabels(h, labels)
	}
	h = autograd.ReLU(g.Norm.Normalize(h, labels))
	return autograd.Tanh(g.Output.Forward(h))
}

func checkLabels(op string, cfg Config, labels []int, n int) {
	switch {
	case cfg.Classes == 0 && labels != nil:
		panic(fmt.Sprintf("gan: %s: %d labels for an unconditional model", op, len(labels)))
	case cfg.Classes > 0 && len(labels) != n:
		panic(fmt.Sprintf("gan: %s: %d labels for %d samples of a conditional model; want one per sample", op, len(labels), n))
	}
	for i, l := range labels {
		if l < 0 || l >= cfg.Classes {
			panic(fmt.Sprintf("gan: %s: label %d of sample %d; want [0, %d)", op, l, i, cfg.Classes))
		}
	}
}

// SampleBatch is the most images a Generator's Sample puts through the
// network at once. Because the generator normalises with batch statistics,
// Sample splits n images into batches of near-equal size, at most
// SampleBatch each, so that no batch is tiny.
const SampleBatch = 64

// Sample returns n images [n, Channels, R, R] from z ~ N(0, I) drawn from r
// (and, for a conditional generator, labels drawn uniformly from r first).
// It records no graph and does not touch the batch norms' running statistics.
// Its signature is metrics.Sampler's, so g.Sample can be measured directly.
//
// It panics if n < 1 or r is nil.
func (g *Generator) Sample(n int, r *rand.Rand) *tensor.Tensor {
	if n < 1 || r == nil {
		panic(fmt.Sprintf("gan: Generator.Sample: n=%d, r=%v; want n >= 1 and a *rand.Rand", n, r))
	}
	return g.SampleLabels(n, g.RandomLabels(n, r), r)
}

// RandomLabels returns n class labels drawn uniformly from r for a
// conditional generator, and nil (drawing nothing) for an unconditional one:
// the labels Sample uses.
func (g *Generator) RandomLabels(n int, r *rand.Rand) []int {
	if g.Config.Classes <= 0 {
		return nil
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(g.Config.Classes)
	}
	return labels
}

// SampleLabels is Sample with the given class labels (nil for an
// unconditional generator).
//
// It panics if n < 1, r is nil or the labels do not fit the generator.
func (g *Generator) SampleLabels(n int, labels []int, r *rand.Rand) *tensor.Tensor {
	if n < 1 || r == nil {
		panic(fmt.Sprintf("gan: Generator.SampleLabels: n=%d, r=%v; want n >= 1 and a *rand.Rand", n, r))
	}
	checkLabels("Generator.SampleLabels", g.Config, labels, n)
	z := tensor.RandN(r, n, g.Config.ZDim)
	return g.Generate(z, labels)
}

// Generate maps the given latent vectors z [N, ZDim] (and labels) to images
// as Sample does: in batches of at most SampleBatch, without a graph and
// without touching running statistics.
//
// It panics if z or labels do not fit the generator, or if N is 1 at 16×16
// (whose 1×1 start leaves the first batch norm one value per channel).
func (g *Generator) Generate(z *tensor.Tensor, labels []int) *tensor.Tensor {
	cfg := g.Config
	if z.Dims() != 2 || z.Dim(1) != cfg.ZDim {
		panic(fmt.Sprintf("gan: Generator.Generate: z %v; want [N %d]", z.Shape(), cfg.ZDim))
	}
	n := z.Dim(0)
	checkLabels("Generator.Generate", cfg, labels, n)
	if cfg.Start() == 1 && n < 2 {
		panic(fmt.Sprintf("gan: Generator.Generate: %d image at %dx%d: the first batch norm sees one value per sample and channel there, so a batch needs at least 2", n, cfg.Resolution, cfg.Resolution))
	}
	defer EvalMode(g)()
	out := tensor.New(n, cfg.Channels, cfg.Resolution, cfg.Resolution)
	chunks := (n + SampleBatch - 1) / SampleBatch
	per := out.Len() / n
	start := 0
	autograd.NoGrad(func() {
		for c := range chunks {
			b := n/chunks + boolInt(c < n%chunks)
			var lb []int
			if labels != nil {
				lb = labels[start : start+b]
			}
			y := g.ForwardLabels(autograd.Const(tensor.Slice(z, 0, start, start+b)), lb)
			copy(out.Data()[start*per:(start+b)*per], y.Value.Data())
			start += b
		}
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// EvalMode puts the mode-switching layers of m (a Generator, a Critic or
// any nn module) in evaluation mode and returns the function that puts them
// back in the mode the first of them was in, so that a probe of a network
// (sampling, a Fisher estimate) neither uses nor updates batch statistics:
//
//	defer gan.EvalMode(g)()
func EvalMode(m any) (restore func()) {
	training := isTraining(m)
	nn.SetTraining(m, false)
	return func() { nn.SetTraining(m, training) }
}

// isTraining reports whether the first mode-switching layer of m is in
// training mode (true when m has none).
func isTraining(m any) bool {
	for _, sub := range nn.Modules(m) {
		if t, ok := sub.(interface{ Training() bool }); ok {
			return t.Training()
		}
	}
	return true
}

// Forward returns the critic's scores [N, 1] for images x [N, Channels, R, R].
//
// It panics if x does not fit the critic.
func (c *Critic) Forward(x *autograd.Var) *autograd.Var {
	return c.Output.Forward(c.features(x))
}

// ForwardClasses returns the scores [N, 1] and, for a conditional critic, the
// class logits [N, Classes] (nil otherwise) of images x, from one pass through
// the shared layers.
//
// It panics if x does not fit the critic.
func (c *Critic) ForwardClasses(x *autograd.Var) (scores, logits *autograd.Var) {
	h := c.features(x)
	scores = c.Output.Forward(h)
	if c.Classifier != nil {
		logits = c.Classifier.Forward(h)
	}
	return scores, logits
}

func (c *Critic) features(x *autograd.Var) *autograd.Var {
	cfg := c.Config
	if sh := x.Value.Shape(); len(sh) != 4 || sh[1] != cfg.Channels || sh[2] != cfg.Resolution || sh[3] != cfg.Resolution {
		panic(fmt.Sprintf("gan: Critic: images %v; want [N %d %d %d]", sh, cfg.Channels, cfg.Resolution, cfg.Resolution))
	}
	h := c.Input.Forward(x)
	for _, b := range c.Blocks {
		h = b.Forward(h)
	}
	return autograd.Flatten(h)
}

// NumParams returns the number of trained values of a module.
func NumParams(m any) int {
	n := 0
	for _, p := range nn.Parameters(m) {
		n += p.Value.Len()
	}
	return n
}
