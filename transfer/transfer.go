package transfer

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// streamFisher is the random stream of the Fisher information's samples.
const streamFisher = 0x7472_616e_7366_0002

// Result is what FineTune returns.
type Result struct {
	// Model is the adapted model.
	Model *gan.Model
	// Dir is the run folder ("" when Options.Dir was empty).
	Dir string
	// Report describes the run.
	Report Report
}

// Report describes a fine-tuning: what was asked, what it cost, and how the
// model measured.
type Report struct {
	// Options are the options with their defaults filled in.
	Options Options
	// Source is the checksum (gan.Checksum) of the source's tensors.
	Source string
	// Iteration is the number of iterations done, over all resumes.
	Iteration int
	// Evals holds this process's evaluations, each metric with its
	// protocol (extractor, sample counts).
	Evals []gan.EvalEvent
	// Trainable and Frozen count the parameter values trained and kept
	// fixed at the last iteration.
	Trainable, Frozen int
	// SecPerIter is the mean time of an iteration in this process;
	// Elapsed the whole call's time.
	SecPerIter float64
	Elapsed    time.Duration
	// Checkpoint is the last checkpoint written ("" if none).
	Checkpoint string
}

// Final returns the results of the last evaluation, or nil.
func (r Report) Final() []metrics.Result {
	if len(r.Evals) == 0 {
		return nil
	}
	return r.Evals[len(r.Evals)-1].Results
}

// FineTune adapts the source GAN src to the target images with gan's
// trainer: the networks o.Init names start from the source, the others
// fresh (Target), the optimizers start with fresh state, and the freeze
// policies, learning-rate multipliers and regularisers of o shape training.
// The defaults are the paper's fine-tuning: lr 1e-5, batch 16, n_critic 5,
// λ 10, Adam (0, 0.9). src is not changed; load a checkpoint or a shipped
// model with gan.Load or package sources. With o.Dir set, the run folder,
// checkpoints and resume are the trainer's (see gan.Options), with the
// options of this package recorded in options.json and checked on resume.
//
// It returns an error listing every invalid option, an error naming both
// shapes when the target's images do not fit the source (another resolution
// or channel count), and the trainer's errors (a cancelled ctx, after a
// checkpoint; a *gan.NaNError), with the Result so far.
func FineTune(ctx context.Context, src *gan.Model, target data.Dataset, opts Options) (*Result, error) {
	start := time.Now()
	if src == nil {
		return nil, fmt.Errorf("transfer: FineTune: nil source model")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if target == nil || target.Len() == 0 {
		return nil, fmt.Errorf("transfer: FineTune: the target dataset is empty")
	}
	cfg := src.Config
	if sh := data.ImageShape(target); !slices.Equal(sh, []int{cfg.Channels, cfg.Resolution, cfg.Resolution}) {
		return nil, fmt.Errorf("transfer: the target's images are %v (channels, height, width) but the source %s makes [%d %d %d]: use a source of the target's size, or load the target with data.Resolution(%d) and data.Gray() or data.RGB()",
			sh, cfg, cfg.Channels, cfg.Resolution, cfg.Resolution, cfg.Resolution)
	}
	model, err := Target(src, o)
	if err != nil {
		return nil, err
	}
	var anchors, fisher map[string]*tensor.Tensor
	if o.L2SP > 0 || o.EWC > 0 {
		anchors = sourceValues(src, model, o)
	}
	if o.EWC > 0 {
		fisher = Fisher(src.Sampler(), src.D, o.EWCBatches, o.BatchSize, rand.New(rand.NewPCG(o.Seed, streamFisher)))
	}

	var mdl *gan.Model // the trainer's model: model, or the checkpoint's on resume
	g := o.trainerOptions()
	g.SourceHash = gan.Checksum(src.StateDict())
	policies := o
	policies.Iterations = 0 // a resume may raise it
	if g.Extra, err = json.Marshal(policies); err != nil {
		return nil, err
	}
	g.Hooks.BeforeIteration = func(it int) { applyFreeze(mdl, o, it) }
	if len(o.LRMult) > 0 {
		g.Hooks.LRScale = lrScale(o.LRMult)
	}
	if anchors != nil {
		g.Hooks.Penalty = func(net string, _ int) *autograd.Var { return penalty(mdl, net, anchors, fisher, o) }
	}
	t, err := gan.NewTrainer(model, target, g)
	if err != nil {
		return nil, err
	}
	mdl = t.Model()
	applyFreeze(mdl, o, t.Iteration())
	res, err := t.Run(ctx)
	out := &Result{Model: mdl, Report: Report{Options: o, Source: g.SourceHash, Elapsed: time.Since(start)}}
	if res != nil {
		out.Dir = res.Dir
		out.Report.Iteration, out.Report.Evals = res.Iteration, res.Evals
		out.Report.SecPerIter, out.Report.Checkpoint = res.SecPerIter, res.Checkpoint
	}
	for _, net := range []any{mdl.G, mdl.D} {
		for _, p := range nn.Parameters(net) {
			if p.Frozen() {
				out.Report.Frozen += p.Value.Len()
			} else {
				out.Report.Trainable += p.Value.Len()
			}
		}
	}
	return out, err
}

// Candidate is a source model to rank.
type Candidate struct {
	Name  string
	Model *gan.Model
}

// Ranking is a candidate's scores against a target, before any fine-tuning.
type Ranking struct {
	Name string
	// FID and KID compare the candidate's samples with the target images
	// (lower is better); Recall is the share of target images within reach
	// of the samples (higher is better). Each carries its protocol.
	FID, KID, Recall metrics.Result
}

// RankOptions configure RankSources. The zero value gives the defaults.
type RankOptions struct {
	// Extractor computes features; nil means metrics.Gray().
	Extractor metrics.Extractor
	// Samples is the number of images drawn from each candidate; 0 means
	// as many as the target holds.
	Samples int
	// Seed fixes the samples and KID's subsets.
	Seed uint64
	// KID configures KID; K the neighbourhood of recall.
	KID metrics.KIDOptions
	K   int
}

// RankSources scores each candidate generator (its sampler: the EMA if it
// has one) against the target images before any fine-tuning, as the paper's
// section 4.5 proposes: FID and KID between the candidate's samples and the
// target, and recall. It returns the candidates best first, by FID. The
// target's features are extracted once.
//
// It returns an error if there is no candidate, the target is empty, or a
// candidate makes images of another shape than the target's.
func RankSources(candidates []Candidate, target data.Dataset, o RankOptions) ([]Ranking, error) {
	if len(candidates) == 0 {
		return nil, fmt.Errorf("transfer: RankSources: no candidates")
	}
	if target == nil || target.Len() < 2 {
		return nil, fmt.Errorf("transfer: RankSources: the target needs at least 2 images")
	}
	sh := data.ImageShape(target)
	for _, c := range candidates {
		cfg := c.Model.Config
		if !slices.Equal(sh, []int{cfg.Channels, cfg.Resolution, cfg.Resolution}) {
			return nil, fmt.Errorf("transfer: RankSources: candidate %q makes [%d %d %d] images, the target holds %v", c.Name, cfg.Channels, cfg.Resolution, cfg.Resolution, sh)
		}
	}
	if o.Extractor == nil {
		o.Extractor = metrics.Gray()
	}
	if o.Samples == 0 {
		o.Samples = target.Len()
	}
	ev := metrics.NewEvaluator(o.Extractor, target, metrics.Options{KID: o.KID, K: o.K})
	out := make([]Ranking, len(candidates))
	for i, c := range candidates {
		r := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		rep := ev.Evaluate(c.Model.Sampler().Sample, o.Samples, r)
		out[i] = Ranking{Name: c.Name, FID: rep.FID, KID: rep.KID, Recall: rep.Recall}
	}
	slices.SortStableFunc(out, func(a, b Ranking) int { return cmp.Compare(a.FID.Value, b.FID.Value) })
	return out, nil
}
