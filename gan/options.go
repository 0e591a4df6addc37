package gan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/augment"
	"github.com/gantry-go/gantry/metrics"
)

// Loss selects the adversarial objective of a Trainer.
type Loss string

const (
	// WGANGP is the Wasserstein loss with the gradient penalty (Gulrajani
	// et al. 2017), the paper's objective: n_critic critic steps per
	// generator step, penalty weight Lambda.
	WGANGP Loss = "wgan-gp"
	// Hinge is the hinge loss (Lim and Ye 2017), with the gradient penalty
	// when Lambda is positive.
	Hinge Loss = "hinge"
	// NonSaturating is the logistic loss of Goodfellow et al. (2014) with
	// the R1 penalty of weight γ = Lambda on real images.
	NonSaturating Loss = "non-saturating"
)

// Options configure a Trainer. The zero value of each field takes the
// default its comment names; the defaults are the paper's source training
// (WGAN-GP, n_critic 5, λ 10, Adam lr 1e-4 with betas (0, 0.9), batch 64).
type Options struct {
	// Iterations is the number of generator steps to reach (each preceded
	// by NCritic critic steps); it must be positive. A resumed run may
	// raise it.
	Iterations int `json:"iterations"`
	// Loss is the objective; empty means WGANGP.
	Loss Loss `json:"loss"`
	// BatchSize is the number of real and of generated images per step; 0
	// means 64.
	BatchSize int `json:"batch_size"`
	// NCritic is the number of critic steps per generator step, each on a
	// fresh real batch; 0 means 5.
	NCritic int `json:"n_critic"`
	// Lambda is the weight of the gradient penalty (WGANGP, Hinge) or R1's
	// γ (NonSaturating); 0 means 10. NoPenalty turns the penalty off.
	Lambda float64 `json:"lambda"`
	// NoPenalty trains without a gradient penalty (Hinge or NonSaturating
	// only).
	NoPenalty bool `json:"no_penalty,omitempty"`
	// LRG and LRD are Adam's learning rates for the generator and critic;
	// 0 means 1e-4 (the paper's fine-tuning uses 1e-5).
	LRG float64 `json:"lr_g"`
	LRD float64 `json:"lr_d"`
	// Beta1 and Beta2 are Adam's decay rates; the zero values mean the
	// paper's 0 and 0.9. Set Beta2 to use another value; Beta1 is taken
	// as given.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// EMA is the decay of an exponential moving average of the generator's
	// weights (e.g. 0.999), kept as Model.EMA and used for grids and
	// evaluation; 0 keeps none.
	EMA float64 `json:"ema,omitempty"`
	// ACGANScale and ACGANScaleG weigh the AC-GAN cross-entropy terms of a
	// conditional model in the critic's and the generator's loss; 0 means
	// 1, the paper's value.
	ACGANScale  float64 `json:"acgan_scale,omitempty"`
	ACGANScaleG float64 `json:"acgan_scale_g,omitempty"`
	// DiffAugment is a DiffAugment policy ("color,translation,cutout", see
	// augment.ParsePolicy) applied to every image the critic sees; empty
	// for none.
	DiffAugment string `json:"diffaugment,omitempty"`
	// ADA turns on adaptive augmentation (Karras et al. 2020) of every
	// image the critic sees, with target ADATarget (0 means 0.6).
	ADA       bool    `json:"ada,omitempty"`
	ADATarget float64 `json:"ada_target,omitempty"`
	// Seed fixes every random choice of training: batches, latent vectors,
	// interpolation, augmentation, grids and evaluation.
	Seed uint64 `json:"seed"`

	// Dir is the run folder; empty writes nothing (no checkpoints, logs or
	// grids). A folder that already holds a checkpoint is an error unless
	// Resume is set.
	Dir string `json:"-"`
	// Resume continues the latest checkpoint in Dir, strictly: the options
	// saved there must equal these but for Iterations and the fields not
	// saved (Dir, hooks, callbacks). Without a checkpoint, training starts
	// from the given model.
	Resume bool `json:"-"`
	// LogEvery is the number of iterations a stats.jsonl line covers; 0
	// means 10.
	LogEvery int `json:"log_every"`
	// CheckpointEvery is the number of iterations between checkpoints; 0
	// means 500. A final checkpoint is written at the end and on
	// cancellation.
	CheckpointEvery int `json:"checkpoint_every"`
	// KeepCheckpoints is the number of recent checkpoints kept; 0 means 3.
	KeepCheckpoints int `json:"keep_checkpoints"`
	// GridSize is the number of fixed-noise samples in each grid; 0 means
	// 64 (an 8×8 grid).
	GridSize int `json:"grid_size"`
	// Eval, if set, measures the generator every Eval.Every iterations.
	Eval *Eval `json:"eval,omitempty"`

	// DataHash and SourceHash identify the training data and the model
	// training started from; they are recorded in options.json. DataHash
	// defaults to the hash of the dataset's images and labels (DataHash);
	// SourceHash is set by transfer.
	DataHash   string `json:"data_hash,omitempty"`
	SourceHash string `json:"source_hash,omitempty"`

	// Extra records the options of a program driving the trainer (such as
	// transfer's policies) in options.json; a resume compares it like the
	// others.
	Extra json.RawMessage `json:"extra,omitempty"`

	// Hooks and callbacks are not saved.
	Hooks Hooks `json:"-"`
	// OnProgress is called after every iteration.
	OnProgress func(Progress) `json:"-"`
	// OnEval is called after every evaluation.
	OnEval func(EvalEvent) `json:"-"`
}

// Eval configures the evaluation during training.
type Eval struct {
	// Every is the number of iterations between evaluations (and one at
	// iteration 0 and at the end); it must be positive.
	Every int `json:"every"`
	// Real holds held-out real images, not trained on.
	Real data.Dataset `json:"-"`
	// Extractor computes features; nil means metrics.Gray().
	Extractor metrics.Extractor `json:"-"`
	// Samples is the number of generated images; 0 means Real.Len().
	Samples int `json:"samples"`
	// Metrics lists "fid", "kid", "precision", "recall" and "iw"; empty
	// means fid and kid.
	Metrics []string `json:"metrics"`
	// IWTrain holds the held-out images IW's fresh critic trains on (Real
	// serves for its evaluation; the two must be disjoint); needed for
	// "iw". IW configures that critic (steps, batch, learning rate).
	IWTrain data.Dataset      `json:"-"`
	IW      metrics.IWOptions `json:"-"`
	// Best names the metric, fid or kid, by which best.safetensors is kept
	// (lower is better); empty means the first of them in Metrics, if any.
	Best string `json:"best"`
	// KID configures KID.
	KID metrics.KIDOptions `json:"kid"`
	// RealHash identifies Real in options.json; empty means DataHash(Real).
	RealHash string `json:"real_hash,omitempty"`
}

// Hooks let a caller such as transfer shape training without a loop of its
// own. Each hook must depend only on its arguments and the model, so that a
// resumed run does exactly what an uninterrupted one does.
type Hooks struct {
	// LRScale returns the learning-rate multiplier of a parameter, given
	// its file name ("g.blocks.0.conv1.weight"); nil means 1 for all.
	// Parameters with the same multiplier share an optimizer group.
	LRScale func(name string) float64
	// Penalty returns an extra loss term for the network net ("g" or "d")
	// at iteration it, added at every step of that network (L2-SP, EWC), or
	// nil for none. It must compute the term afresh at each call and keep
	// none of the Vars it records: the trainer frees the step's graph after
	// the step (autograd.Free).
	Penalty func(net string, it int) *autograd.Var
	// BeforeIteration is called before iteration it (counted from 0), for
	// instance to unfreeze parameters on a schedule.
	BeforeIteration func(it int)
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Loss == "" {
		o.Loss = WGANGP
	}
	def(&o.BatchSize, 64)
	def(&o.NCritic, 5)
	deff(&o.Lambda, 10)
	deff(&o.LRG, 1e-4)
	deff(&o.LRD, 1e-4)
	deff(&o.Beta2, 0.9)
	deff(&o.ACGANScale, 1)
	deff(&o.ACGANScaleG, 1)
	if o.ADA {
		deff(&o.ADATarget, 0.6)
	}
	def(&o.LogEvery, 10)
	def(&o.CheckpointEvery, 500)
	def(&o.KeepCheckpoints, 3)
	def(&o.GridSize, 64)
	if o.Eval != nil {
		e := *o.Eval
		if len(e.Metrics) == 0 {
			e.Metrics = []string{"fid", "kid"}
		}
		if e.Best == "" {
			for _, m := range e.Metrics {
				if m == "fid" || m == "kid" {
					e.Best = m
					break
				}
			}
		}
		if e.Samples == 0 && e.Real != nil {
			e.Samples = e.Real.Len()
		}
		o.Eval = &e
	}
	return o
}

// Validate reports every invalid option (after defaults) in one error, or
// nil.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if o.Iterations < 1 {
		bad("Iterations %d: want at least 1", o.Iterations)
	}
	switch o.Loss {
	case WGANGP, Hinge, NonSaturating:
	default:
		bad("Loss %q: want %q, %q or %q", o.Loss, WGANGP, Hinge, NonSaturating)
	}
	if o.NoPenalty && o.Loss == WGANGP {
		bad("NoPenalty with Loss %q: WGAN-GP needs its penalty", WGANGP)
	}
	if o.BatchSize < 1 || o.BatchSize > 1<<16 {
		bad("BatchSize %d: want 1 to 65536", o.BatchSize)
	}
	if o.NCritic < 1 || o.NCritic > 100 {
		bad("NCritic %d: want 1 to 100", o.NCritic)
	}
	if o.Lambda < 0 || !finite(o.Lambda) {
		bad("Lambda %v: want a finite value >= 0", o.Lambda)
	}
	for _, lr := range []struct {
		name string
		v    float64
	}{{"LRG", o.LRG}, {"LRD", o.LRD}} {
		if lr.v <= 0 || lr.v > 1 || !finite(lr.v) {
			bad("%s %v: want a learning rate in (0, 1]", lr.name, lr.v)
		}
	}
	if o.Beta1 < 0 || o.Beta1 >= 1 {
		bad("Beta1 %v: want [0, 1)", o.Beta1)
	}
	if o.Beta2 < 0 || o.Beta2 >= 1 {
		bad("Beta2 %v: want [0, 1)", o.Beta2)
	}
	if o.EMA < 0 || o.EMA >= 1 {
		bad("EMA %v: want 0 (none) or a decay in (0, 1)", o.EMA)
	}
	if o.ACGANScale < 0 || o.ACGANScaleG < 0 {
		bad("ACGANScale %v, ACGANScaleG %v: want values >= 0", o.ACGANScale, o.ACGANScaleG)
	}
	if o.DiffAugment != "" {
		if _, err := augment.ParsePolicy(o.DiffAugment); err != nil {
			bad("DiffAugment %q: %v", o.DiffAugment, err)
		}
		if o.ADA {
			bad("DiffAugment and ADA together: choose one")
		}
	}
	if o.ADA && (o.ADATarget <= 0 || o.ADATarget >= 1) {
		bad("ADATarget %v: want (0, 1)", o.ADATarget)
	}
	if o.LogEvery < 1 || o.CheckpointEvery < 1 || o.KeepCheckpoints < 1 {
		bad("LogEvery %d, CheckpointEvery %d, KeepCheckpoints %d: want each at least 1", o.LogEvery, o.CheckpointEvery, o.KeepCheckpoints)
	}
	if o.GridSize < 1 || o.GridSize > 1024 {
		bad("GridSize %d: want 1 to 1024", o.GridSize)
	}
	if o.Resume && o.Dir == "" {
		bad("Resume without Dir: a run can only resume from its folder")
	}
	if e := o.Eval; e != nil {
		if e.Every < 1 {
			bad("Eval.Every %d: want at least 1", e.Every)
		}
		if e.Real == nil || e.Real.Len() == 0 {
			bad("Eval.Real: want held-out real images")
		}
		if e.Samples < 2 {
			bad("Eval.Samples %d: want at least 2", e.Samples)
		}
		for _, m := range e.Metrics {
			switch m {
			case "fid", "kid", "precision", "recall":
			case "iw":
				if e.IWTrain == nil || e.IWTrain.Len() == 0 {
					bad("Eval.Metrics \"iw\" without Eval.IWTrain: IW's critic needs held-out images of its own")
				}
			default:
				bad("Eval.Metrics %q: want fid, kid, precision, recall or iw", m)
			}
		}
		if e.Best != "" && (!contains(e.Metrics, e.Best) || (e.Best != "fid" && e.Best != "kid")) {
			bad("Eval.Best %q: want fid or kid, and among Eval.Metrics", e.Best)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &OptionsError{Errs: errs}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// OptionsError lists every invalid option.
type OptionsError struct{ Errs []string }

func (e *OptionsError) Error() string {
	return "gan: invalid Options: " + strings.Join(e.Errs, "; ")
}

// ErrRunExists is returned when Options.Dir already holds a checkpoint and
// Options.Resume is not set: training from scratch would overwrite it.
var ErrRunExists = errors.New("gan: the run folder already holds a checkpoint; set Resume to continue it or choose another folder")
