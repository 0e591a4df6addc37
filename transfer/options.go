package transfer

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/gan"
)

// Init says which networks start from the source: the four cells of the
// paper's Table 1.
type Init string

const (
	InitBoth    Init = "both"    // G and D from the source (the paper's best, and the default)
	InitD       Init = "d"       // D from the source, G from scratch
	InitG       Init = "g"       // G from the source, D from scratch (the paper's worst)
	InitScratch Init = "scratch" // neither: train the source's architecture from scratch
)

// Unfreeze makes parameters whose file name starts with Prefix
// ("g.blocks.3.", "d.blocks.") trainable from iteration At on, whatever the
// freeze policies say: gradual unfreezing.
type Unfreeze struct {
	At     int    `json:"at"`
	Prefix string `json:"prefix"`
}

// Options configure FineTune. The zero value of a field takes the default
// its comment names: the paper's fine-tuning (both networks from the source,
// Adam lr 1e-5 with betas (0, 0.9) and fresh state, batch 16, n_critic 5,
// λ 10).
type Options struct {
	// Init says which networks start from the source; empty means
	// InitBoth.
	Init Init `json:"init"`
	// Iterations is the number of generator steps; 0 means 1000.
	Iterations int `json:"iterations"`
	// BatchSize is the number of images per step; 0 means 16.
	BatchSize int `json:"batch_size"`
	// LR is Adam's learning rate for both networks; 0 means 1e-5 (the
	// paper's, for about 1,000 target images; 1e-4 suits larger targets).
	LR float64 `json:"lr"`
	// NCritic and Lambda are WGAN-GP's; 0 means 5 and 10.
	NCritic int     `json:"n_critic"`
	Lambda  float64 `json:"lambda"`
	// Loss is the objective; empty means gan.WGANGP.
	Loss gan.Loss `json:"loss"`
	// Seed fixes the new weights (of a network not taken from the source,
	// a new class head), the batches and every other random choice.
	Seed uint64 `json:"seed"`

	// FreezeD freezes the critic's input layer and its first FreezeD
	// blocks (FreezeD, Mo et al. 2020): 0 to 4.
	FreezeD int `json:"freeze_d"`
	// FreezeG freezes the generator blocks with these indices (0 to 3).
	FreezeG []int `json:"freeze_g"`
	// NormOnly trains only the generator's normalisation scales and offsets
	// (in the spirit of Batch Statistics Adaptation); the critic trains as
	// usual.
	NormOnly bool `json:"norm_only"`
	// Unfreeze lifts the freeze policies on a schedule.
	Unfreeze []Unfreeze `json:"unfreeze"`
	// LRMult multiplies the learning rate of the parameters whose file name
	// starts with a key ("g.blocks.0.", "d.output."); the longest matching
	// key wins.
	LRMult map[string]float64 `json:"lr_mult"`

	// L2SP is the weight α of the L2-SP regulariser (Li et al. 2018),
	// α/2·Σ‖θ − θ_source‖² over every parameter taken from the source, in
	// both networks; 0 for none.
	L2SP float64 `json:"l2sp"`
	// EWC is the weight λ of elastic weight consolidation on the generator
	// (Li et al. 2020), λ·Σ F_i(θ_i − θ_source,i)², with F the diagonal
	// Fisher information of the source computed once (see Fisher); 0 for
	// none.
	EWC float64 `json:"ewc"`
	// EWCBatches is the number of batches of BatchSize samples the Fisher
	// information is averaged over; 0 means 16.
	EWCBatches int `json:"ewc_batches"`

	// DiffAugment is a DiffAugment policy ("color,translation,cutout") for
	// every image the critic sees; ADA turns on adaptive augmentation.
	DiffAugment string `json:"diffaugment"`
	ADA         bool   `json:"ada"`
	// EMA is the decay of a moving average of the generator (0 for none).
	EMA float64 `json:"ema"`

	// Classes > 0 makes the target model a conditional AC-GAN with that many
	// classes, from an unconditional source (the paper's section 5); the
	// target dataset's labels must lie in [0, Classes). Conditioning is how
	// the generator takes the label (empty means gan.CondBatchNorm).
	Classes      int              `json:"classes"`
	Conditioning gan.Conditioning `json:"conditioning"`

	// Dir is the run folder ("" writes nothing); Resume continues the latest
	// checkpoint there exactly (see gan.Options).
	Dir    string `json:"-"`
	Resume bool   `json:"-"`
	// LogEvery, CheckpointEvery and GridSize are the run folder's; 0 takes
	// gan's defaults.
	LogEvery        int `json:"log_every"`
	CheckpointEvery int `json:"checkpoint_every"`
	GridSize        int `json:"grid_size"`
	// Eval measures the generator during fine-tuning (see gan.Eval).
	Eval *gan.Eval `json:"eval,omitempty"`

	// OnProgress and OnEval are passed to the trainer.
	OnProgress func(gan.Progress)  `json:"-"`
	OnEval     func(gan.EvalEvent) `json:"-"`
}

func (o Options) withDefaults() Options {
	if o.Init == "" {
		o.Init = InitBoth
	}
	if o.Iterations == 0 {
		o.Iterations = 1000
	}
	if o.BatchSize == 0 {
		o.BatchSize = 16
	}
	if o.LR == 0 {
		o.LR = 1e-5
	}
	if o.EWCBatches == 0 {
		o.EWCBatches = 16
	}
	if o.Classes > 0 && o.Conditioning == "" {
		o.Conditioning = gan.CondBatchNorm
	}
	return o
}

// Validate reports every invalid option (after defaults) in one error, or
// nil. The options passed on to the trainer are checked by it too.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	switch o.Init {
	case InitBoth, InitD, InitG, InitScratch:
	default:
		bad("Init %q: want both, d, g or scratch", o.Init)
	}
	if o.FreezeD < 0 || o.FreezeD > 4 {
		bad("FreezeD %d: want 0 to 4 critic blocks", o.FreezeD)
	}
	for _, b := range o.FreezeG {
		if b < 0 || b > 3 {
			bad("FreezeG block %d: want 0 to 3", b)
		}
	}
	for _, u := range o.Unfreeze {
		if u.At < 0 || !(strings.HasPrefix(u.Prefix, gan.PrefixG) || strings.HasPrefix(u.Prefix, gan.PrefixD)) {
			bad("Unfreeze %+v: want At >= 0 and a prefix starting with g. or d.", u)
		}
	}
	for _, k := range slices.Sorted(mapKeys(o.LRMult)) {
		v := o.LRMult[k]
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) || !(strings.HasPrefix(k, gan.PrefixG) || strings.HasPrefix(k, gan.PrefixD)) {
			bad("LRMult[%q] = %v: want a positive multiplier for a prefix starting with g. or d.", k, v)
		}
	}
	if o.L2SP < 0 || math.IsNaN(o.L2SP) || math.IsInf(o.L2SP, 0) {
		bad("L2SP %v: want a finite weight >= 0", o.L2SP)
	}
	if o.EWC < 0 || math.IsNaN(o.EWC) || math.IsInf(o.EWC, 0) {
		bad("EWC %v: want a finite weight >= 0", o.EWC)
	}
	if o.EWCBatches < 1 {
		bad("EWCBatches %d: want at least 1", o.EWCBatches)
	}
	if o.Classes < 0 {
		bad("Classes %d: want 0 (unconditional) or more", o.Classes)
	}
	if o.Classes == 0 && o.Conditioning != "" {
		bad("Conditioning %q without Classes", o.Conditioning)
	}
	if err := o.trainerOptions().Validate(); err != nil {
		if oe, ok := err.(*gan.OptionsError); ok {
			errs = append(errs, oe.Errs...)
		} else {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &OptionsError{Errs: errs}
}

// OptionsError lists every invalid option of FineTune.
type OptionsError struct{ Errs []string }

func (e *OptionsError) Error() string {
	return "transfer: invalid Options: " + strings.Join(e.Errs, "; ")
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// trainerOptions returns the gan options of a fine-tuning (without hooks).
func (o Options) trainerOptions() gan.Options {
	o = o.withDefaults()
	return gan.Options{
		Iterations: o.Iterations, Loss: o.Loss, BatchSize: o.BatchSize, NCritic: o.NCritic, Lambda: o.Lambda,
		LRG: o.LR, LRD: o.LR, EMA: o.EMA, DiffAugment: o.DiffAugment, ADA: o.ADA, Seed: o.Seed,
		Dir: o.Dir, Resume: o.Resume, LogEvery: o.LogEvery, CheckpointEvery: o.CheckpointEvery,
		GridSize: o.GridSize, Eval: o.Eval, OnProgress: o.OnProgress, OnEval: o.OnEval,
	}
}
