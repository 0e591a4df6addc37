package nn

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// Default normalisation constants, as PyTorch and the paper's code use.
const (
	DefaultEps      = 1e-5
	DefaultMomentum = 0.1
)

// RunningStats are the buffers a batch norm keeps for evaluation: per-channel
// running mean and unbiased running variance, and the number of training
// batches seen. They are embedded in BatchNorm2d and CondBatchNorm2d, so
// their names are those of PyTorch's batch norm.
type RunningStats struct {
	RunningMean       *Buffer `nn:"running_mean"`
	RunningVar        *Buffer `nn:"running_var"`
	NumBatchesTracked *Buffer `nn:"num_batches_tracked"`
}

func newRunningStats(c int) RunningStats {
	return RunningStats{
		RunningMean:       NewBuffer(tensor.New(c)),
		RunningVar:        NewBuffer(tensor.Ones(c)),
		NumBatchesTracked: NewBuffer(tensor.Scalar(0)),
	}
}

// BatchNormConfig holds the settings and mode BatchNorm2d and
// CondBatchNorm2d share; it is embedded in both.
type BatchNormConfig struct {
	// Eps is added to the variance (DefaultEps).
	Eps float32 `nn:"-"`
	// Momentum is the weight of a new batch in the running statistics:
	// running = (1-Momentum)·running + Momentum·batch (DefaultMomentum).
	Momentum float32 `nn:"-"`
	// AlwaysBatchStats normalises with the batch's statistics in
	// evaluation mode too, as the paper's TensorFlow generator does. The
	// running statistics are still updated in training mode.
	AlwaysBatchStats bool `nn:"-"`
	eval             bool
}

// SetTraining switches between training mode (batch statistics, running
// statistics updated) and evaluation mode (running statistics, unless
// AlwaysBatchStats).
func (b *BatchNormConfig) SetTraining(on bool) { b.eval = !on }

// Training reports whether the layer is in training mode.
func (b *BatchNormConfig) Training() bool { return !b.eval }

// normalize returns x normalised per channel over (N,H,W), with the batch's
// statistics or the running ones, updating the running statistics in
// training mode.
func (b *BatchNormConfig) normalize(op string, x *autograd.Var, rs *RunningStats) *autograd.Var {
	c := rs.RunningMean.Value.Len()
	if x.Value.Dims() != 4 || x.Value.Dim(1) != c {
		panic(fmt.Sprintf("nn: %s: input %v, want [N,%d,H,W]", op, x.Value.Shape(), c))
	}
	if b.eval && !b.AlwaysBatchStats {
		rm := autograd.Const(rs.RunningMean.Value.Reshape(1, c, 1, 1))
		inv := tensor.Rsqrt(tensor.AddScalar(rs.RunningVar.Value, b.Eps)).Reshape(1, c, 1, 1)
		return autograd.Mul(autograd.Sub(x, rm), autograd.Const(inv))
	}
	n := x.Value.Len() / c
	if n < 2 {
		// As PyTorch: one value has no spread, and normalising it would
		// silently output zeros (the bias) and learn nothing.
		panic(fmt.Sprintf("nn: %s: input %v has %d values per channel; batch statistics need at least 2", op, x.Value.Shape(), n))
	}
	y, mean, v := autograd.Standardize(x, b.Eps, 0, 2, 3)
	if !b.eval {
		rs.update(mean, v, n, b.Momentum)
	}
	return y
}

// update folds a batch's mean and biased variance over n values per channel
// into the running statistics (unbiased variance, as PyTorch).
func (rs *RunningStats) update(mean, biasedVar *tensor.Tensor, n int, momentum float32) {
	unbias := float32(1)
	if n > 1 {
		unbias = float32(n) / float32(n-1)
	}
	rm, rv := rs.RunningMean.Value.Data(), rs.RunningVar.Value.Data()
	md, vd := mean.Data(), biasedVar.Data()
	for i := range rm {
		rm[i] = (1-momentum)*rm[i] + momentum*md[i]
		rv[i] = (1-momentum)*rv[i] + momentum*vd[i]*unbias
	}
	if rs.NumBatchesTracked != nil {
		rs.NumBatchesTracked.Value.Data()[0]++
	}
}

// BatchNorm2d normalises [N,C,H,W] feature maps per channel over (N,H,W),
// then scales by Weight [C] and shifts by Bias [C], as torch.nn.BatchNorm2d.
// In training mode it uses the batch's statistics (biased variance) and
// updates the running ones; in evaluation mode it uses the running ones.
type BatchNorm2d struct {
	Weight *Param `nn:"weight"`
	Bias   *Param `nn:"bias"`
	RunningStats
	BatchNormConfig
}

// NewBatchNorm2d returns a batch norm over c channels with weight 1, bias 0,
// running mean 0 and variance 1, eps DefaultEps and momentum
// DefaultMomentum, in training mode.
//
// It panics if c is not positive.
func NewBatchNorm2d(c int) *BatchNorm2d {
	if c <= 0 {
		panic(fmt.Sprintf("nn: NewBatchNorm2d: %d channels", c))
	}
	return &BatchNorm2d{
		Weight:          NewParam(tensor.Ones(c)),
		Bias:            NewParam(tensor.New(c)),
		RunningStats:    newRunningStats(c),
		BatchNormConfig: BatchNormConfig{Eps: DefaultEps, Momentum: DefaultMomentum},
	}
}

// Forward returns the normalised, scaled and shifted x.
//
// It panics if x is not [N,C,H,W] with the layer's C, or if it normalises
// with batch statistics (training, or AlwaysBatchStats) and N·H·W < 2, as
// PyTorch does.
func (b *BatchNorm2d) Forward(x *autograd.Var) *autograd.Var {
	y := b.normalize("BatchNorm2d", x, &b.RunningStats)
	return affine(y, b.Weight.Var, b.Bias.Var)
}

// Normalize is Forward; the labels are ignored.
func (b *BatchNorm2d) Normalize(x *autograd.Var, _ []int) *autograd.Var { return b.Forward(x) }

// affine returns y·w + b with per-channel w and b of shape [C].
func affine(y, w, b *autograd.Var) *autograd.Var {
	c := w.Value.Len()
	return autograd.MulAdd(y, autograd.Reshape(w, 1, c, 1, 1), autograd.Reshape(b, 1, c, 1, 1))
}

// LayerNorm normalises each sample of [N,C,H,W] feature maps over (C,H,W)
// with its own mean and biased variance, then scales by Weight [C] and shifts
// by Bias [C] per channel: the critic's normalisation in the paper's code
// (tflib layernorm over axes [1,2,3]). It has no mode and no running state,
// so the gradient penalty stays per sample.
type LayerNorm struct {
	Weight *Param  `nn:"weight"`
	Bias   *Param  `nn:"bias"`
	Eps    float32 `nn:"-"`
}

// NewLayerNorm returns a layer norm over c channels with weight 1, bias 0
// and eps DefaultEps.
//
// It panics if c is not positive.
func NewLayerNorm(c int) *LayerNorm {
	if c <= 0 {
		panic(fmt.Sprintf("nn: NewLayerNorm: %d channels", c))
	}
	return &LayerNorm{Weight: NewParam(tensor.Ones(c)), Bias: NewParam(tensor.New(c)), Eps: DefaultEps}
}

// Forward returns the normalised, scaled and shifted x.
//
// It panics if x is not [N,C,H,W] with the layer's C, or if it normalises
// with batch statistics (training, or AlwaysBatchStats) and N·H·W < 2, as
// PyTorch does.
func (l *LayerNorm) Forward(x *autograd.Var) *autograd.Var {
	c := l.Weight.Value.Len()
	if x.Value.Dims() != 4 || x.Value.Dim(1) != c {
		panic(fmt.Sprintf("nn: LayerNorm: input %v, want [N,%d,H,W]", x.Value.Shape(), c))
	}
	y, _, _ := autograd.Standardize(x, l.Eps, 1, 2, 3)
	return affine(y, l.Weight.Var, l.Bias.Var)
}

// Normalize is Forward; the labels are ignored.
func (l *LayerNorm) Normalize(x *autograd.Var, _ []int) *autograd.Var { return l.Forward(x) }

// CondBatchNorm2d is conditional batch norm (Dumoulin et al.): batch norm
// whose scale and offset are rows of Weight [K, C] and Bias [K, C] picked by
// each sample's class label. Statistics and modes are those of BatchNorm2d.
type CondBatchNorm2d struct {
	Weight *Param `nn:"weight"`
	Bias   *Param `nn:"bias"`
	RunningStats
	BatchNormConfig
}

// NewCondBatchNorm2d returns a conditional batch norm over c channels for k
// classes, with every row of the weight 1 and of the bias 0.
//
// It panics if k or c is not positive.
func NewCondBatchNorm2d(k, c int) *CondBatchNorm2d {
	if k <= 0 || c <= 0 {
		panic(fmt.Sprintf("nn: NewCondBatchNorm2d: %d classes, %d channels", k, c))
	}
	return &CondBatchNorm2d{
		Weight:          NewParam(tensor.Ones(k, c)),
		Bias:            NewParam(tensor.New(k, c)),
		RunningStats:    newRunningStats(c),
		BatchNormConfig: BatchNormConfig{Eps: DefaultEps, Momentum: DefaultMomentum},
	}
}

// Normalize returns x normalised, then scaled and shifted by the rows of the
// tables at labels (one label per sample).
//
// It panics if x is not [N,C,H,W], len(labels) != N, a label is out of
// range, or it normalises with batch statistics and N·H·W < 2.
func (b *CondBatchNorm2d) Normalize(x *autograd.Var, labels []int) *autograd.Var {
	k, c := b.Weight.Value.Dim(0), b.Weight.Value.Dim(1)
	if x.Value.Dims() != 4 || len(labels) != x.Value.Dim(0) {
		panic(fmt.Sprintf("nn: CondBatchNorm2d: input %v with %d labels, want [N,%d,H,W] and N labels", x.Value.Shape(), len(labels), c))
	}
	if i := slices.IndexFunc(labels, func(l int) bool { return l < 0 || l >= k }); i >= 0 {
		panic(fmt.Sprintf("nn: CondBatchNorm2d: label %d outside [0,%d)", labels[i], k))
	}
	y := b.normalize("CondBatchNorm2d", x, &b.RunningStats)
	n := len(labels)
	w := autograd.Reshape(autograd.IndexSelect(b.Weight.Var, 0, labels), n, c, 1, 1)
	s := autograd.Reshape(autograd.IndexSelect(b.Bias.Var, 0, labels), n, c, 1, 1)
	return autograd.MulAdd(y, w, s)
}
