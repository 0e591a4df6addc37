package gan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/augment"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/nn/losses"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

// Progress reports a finished iteration to Options.OnProgress.
type Progress struct {
	Iteration  int // iterations done
	Iterations int // iterations to reach
	// LossD and LossG are the last iteration's critic loss (mean over its
	// critic steps) and generator loss; Wasserstein is the critic's
	// estimate mean D(real) − mean D(fake).
	LossD, LossG, Wasserstein float64
	// ItPerSec is the rate of this process's iterations so far, Elapsed
	// their time and ETA the time left at that rate.
	ItPerSec float64
	Elapsed  time.Duration
	ETA      time.Duration
}

// EvalEvent reports an evaluation to Options.OnEval.
type EvalEvent struct {
	Iteration int
	Results   []metrics.Result
}

// Result is what a finished (or stopped) training returns.
type Result struct {
	// Model is the trained model (the trainer's own).
	Model *Model
	// Dir is the run folder ("" when none).
	Dir string
	// Iteration is the number of iterations done, over all resumes.
	Iteration int
	// Evals holds this process's evaluations, in order.
	Evals []EvalEvent
	// Checkpoint is the path of the last checkpoint written ("" if none).
	Checkpoint string
	// SecPerIter is this process's mean time per iteration.
	SecPerIter float64
}

// NaNError reports a loss or gradient that stopped being finite. Training
// stops before the optimizer applies it, so the weights and the last
// checkpoint are those of the last good iteration.
type NaNError struct {
	Iteration int    // the iteration (from 0) in which it happened
	Step      string // "critic step 2 of 5" or "generator step"
	Name      string // "loss" or the first parameter whose gradient is not finite
	Value     float64
}

func (e *NaNError) Error() string {
	what := "the loss"
	if e.Name != "loss" {
		what = "the gradient of " + e.Name
	}
	return fmt.Sprintf("gan: training diverged at iteration %d, %s: %s is %v; lower the learning rates or check the data", e.Iteration, e.Step, what, e.Value)
}

// Trainer trains a Model on a dataset: the one training loop of gantry.
// transfer and the command drive it through Options and Hooks.
type Trainer struct {
	m     *Model
	ds    data.Dataset
	o     Options
	optG  *optim.Adam
	optD  *optim.Adam
	pcg   *rand.PCG // the trainer's random stream
	r     *rand.Rand
	lpcg  *rand.PCG // the loader's
	ld    *data.Loader
	it    int // iterations done
	ada   *augment.ADA
	pol   augment.Policy
	acc   accum
	best  *float64
	bestI int
	run   *runDir
	ev    *metrics.Evaluator
	gridZ *tensor.Tensor
	gridL []int
	evals []EvalEvent
	last  string // last checkpoint
	// resumed is set when the state came from a checkpoint, whose
	// milestones were done before it was written.
	resumed bool
}

// Streams of the trainer's random numbers, all derived from Options.Seed.
const (
	streamTrain  = 0x7472_6169_6e00_0001
	streamLoader = 0x7472_6169_6e00_0002
	streamGrid   = 0x7472_6169_6e00_0003
	streamEval   = 0x7472_6169_6e00_0004
)

// NewTrainer prepares training of m on ds with opts. With opts.Resume and a
// checkpoint in opts.Dir, the model, optimizers, random streams, data order
// and counters come from the latest checkpoint and m may be nil.
//
// It returns an error for invalid options (all of them in one error), a
// dataset that does not fit the model (image shape, labels of a conditional
// model), a run folder that already holds a run without opts.Resume
// (ErrRunExists) or in which another process is training (ErrRunInUse; the
// trainer holds its folder until the process exits), or saved options that
// differ from opts.
func NewTrainer(m *Model, ds data.Dataset, opts Options) (*Trainer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("gan: NewTrainer: the dataset is empty")
	}
	t := &Trainer{ds: ds, o: o}
	var ck *checkpoint
	if o.Dir != "" {
		run, found, err := openRun(o.Dir, o.Resume)
		if err != nil {
			return nil, err
		}
		t.run = run
		ck = found
	}
	if ck != nil {
		m = ck.model
	}
	if m == nil {
		return nil, errors.New("gan: NewTrainer: nil model and no checkpoint to resume")
	}
	t.m = m
	cfg := m.Config
	if sh := data.ImageShape(ds); !slices.Equal(sh, []int{cfg.Channels, cfg.Resolution, cfg.Resolution}) {
		return nil, fmt.Errorf("gan: NewTrainer: the dataset's images are %v; the model (%s) needs [%d %d %d]", sh, cfg, cfg.Channels, cfg.Resolution, cfg.Resolution)
	}
	if cfg.Classes > 0 {
		for i := range ds.Len() {
			if l := ds.Label(i); l < 0 || l >= cfg.Classes {
				return nil, fmt.Errorf("gan: NewTrainer: image %d has label %d; the conditional model needs labels in [0, %d)", i, l, cfg.Classes)
			}
		}
	}
	if o.DataHash == "" {
		o.DataHash = DataHash(ds)
	}
	if o.Eval != nil {
		if sh := data.ImageShape(o.Eval.Real); !slices.Equal(sh, data.ImageShape(ds)) {
			return nil, fmt.Errorf("gan: NewTrainer: Eval.Real's images are %v, the training images %v; want the same shape", sh, data.ImageShape(ds))
		}
		if o.Eval.Extractor == nil {
			o.Eval.Extractor = metrics.Gray()
		}
		if o.Eval.RealHash == "" {
			o.Eval.RealHash = DataHash(o.Eval.Real)
		}
	}
	t.o = o
	if o.EMA > 0 && m.EMA == nil {
		m.EMA = cloneGenerator(m.G)
	}
	if o.DiffAugment != "" {
		t.pol, _ = augment.ParsePolicy(o.DiffAugment)
	}
	if o.ADA {
		t.ada = augment.NewADA()
		t.ada.Target = o.ADATarget
	}
	t.pcg = rand.NewPCG(o.Seed, streamTrain)
	t.r = rand.New(t.pcg)
	t.lpcg = rand.NewPCG(o.Seed, streamLoader)
	t.ld = data.NewLoader(ds, o.BatchSize, rand.New(t.lpcg))
	t.optG = newAdam(PrefixG, m.G, o.LRG, o)
	t.optD = newAdam(PrefixD, m.D, o.LRD, o)
	gr := rand.New(rand.NewPCG(o.Seed, streamGrid))
	t.gridZ = tensor.RandN(gr, o.GridSize, cfg.ZDim)
	if cfg.Classes > 0 {
		t.gridL = make([]int, o.GridSize)
		for i := range t.gridL {
			t.gridL[i] = i % cfg.Classes
		}
	}
	if o.Eval != nil {
		t.ev = metrics.NewEvaluator(o.Eval.Extractor, o.Eval.Real, metrics.Options{KID: o.Eval.KID})
	}
	if t.run != nil {
		if err := t.run.start(t, ck); err != nil {
			return nil, err
		}
	}
	if ck != nil {
		if err := t.restore(ck); err != nil {
			return nil, fmt.Errorf("gan: resume from %s: %w", ck.path, err)
		}
	}
	return t, nil
}

// newAdam returns Adam over net's parameters named with prefix, in groups by
// the hooks' learning-rate multiplier (multiplier 1 first, the others in
// increasing order).
func newAdam(prefix string, net any, lr float64, o Options) *optim.Adam {
	cfg := optim.DefaultAdam()
	cfg.Beta1, cfg.Beta2 = o.Beta1, o.Beta2
	params := optim.Prefixed(prefix, nn.Parameters(net))
	scale := func(string) float64 { return 1 }
	if o.Hooks.LRScale != nil {
		scale = o.Hooks.LRScale
	}
	groups := map[float64][]optim.NamedParam{}
	for _, p := range params {
		s := scale(p.Name)
		groups[s] = append(groups[s], p)
	}
	keys := make([]float64, 0, len(groups))
	for s := range groups {
		if s != 1 {
			keys = append(keys, s)
		}
	}
	slices.Sort(keys)
	cfg.LR = lr
	opt := optim.NewAdam(groups[1], cfg)
	for _, s := range keys {
		c := cfg
		c.LR = lr * s
		opt.AddGroup(groups[s], c)
	}
	return opt
}

// Model returns the model being trained.
func (t *Trainer) Model() *Model { return t.m }

// Iteration returns the number of iterations done.
func (t *Trainer) Iteration() int { return t.it }

// Options returns the trainer's options with their defaults filled in.
func (t *Trainer) Options() Options { return t.o }

// Train is NewTrainer followed by Run.
func Train(ctx context.Context, m *Model, ds data.Dataset, opts Options) (*Result, error) {
	t, err := NewTrainer(m, ds, opts)
	if err != nil {
		return nil, err
	}
	return t.Run(ctx)
}

// Run trains until Options.Iterations iterations are done, ctx is
// cancelled, or a loss or gradient stops being finite. With a run folder it
// writes checkpoints, stats, grids and evaluations as it goes; on
// cancellation it writes a checkpoint of the iterations done and returns an
// error wrapping ctx.Err(). On a *NaNError nothing is written: the last
// checkpoint stays the last good one.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	start := time.Now()
	first := t.it
	res := func() *Result {
		r := &Result{Model: t.m, Iteration: t.it, Evals: t.evals, Checkpoint: t.last}
		if t.run != nil {
			r.Dir = t.run.dir
		}
		if n := t.it - first; n > 0 {
			r.SecPerIter = time.Since(start).Seconds() / float64(n)
		}
		return r
	}
	if !t.resumed && t.it == 0 {
		if err := t.milestones(); err != nil {
			return res(), err
		}
	}
	for t.it < t.o.Iterations {
		if err := ctx.Err(); err != nil {
			if t.run != nil {
				if cerr := t.checkpoint(); cerr != nil {
					return res(), errors.Join(err, cerr)
				}
				t.run.logf("stopped at iteration %d (%v); checkpoint %s", t.it, err, t.last)
			}
			return res(), fmt.Errorf("gan: training stopped at iteration %d: %w", t.it, err)
		}
		itStart := time.Now()
		st, err := t.iteration()
		if err != nil {
			if t.run != nil {
				t.run.logf("%v", err)
			}
			return res(), err
		}
		t.it++
		t.acc.add(st, time.Since(itStart).Seconds())
		if t.o.OnProgress != nil {
			el := time.Since(start)
			rate := float64(t.it-first) / el.Seconds()
			t.o.OnProgress(Progress{
				Iteration: t.it, Iterations: t.o.Iterations,
				LossD: st.lossD / float64(st.dSteps), LossG: st.lossG, Wasserstein: st.wass / float64(st.dSteps),
				ItPerSec: rate, Elapsed: el,
				ETA: time.Duration(float64(t.o.Iterations-t.it) / rate * float64(time.Second)),
			})
		}
		if err := t.milestones(); err != nil {
			return res(), err
		}
	}
	return res(), nil
}

// milestones does what is due after t.it iterations: the stats line, grids,
// evaluation, checkpoints.
func (t *Trainer) milestones() error {
	o := t.o
	done := t.it == o.Iterations
	if t.run != nil && t.it > 0 && (t.it%o.LogEvery == 0 || done) && t.acc.Iters > 0 {
		if err := t.run.stats(t); err != nil {
			return err
		}
		t.acc = accum{}
	}
	if t.run != nil && (isGridIteration(t.it) || done) {
		if err := t.run.grid(t); err != nil {
			return err
		}
	}
	if o.Eval != nil && (t.it%o.Eval.Every == 0 || done) && !t.evaluated() {
		if err := t.evaluate(); err != nil {
			return err
		}
	}
	if t.run != nil && t.it > 0 && (t.it%o.CheckpointEvery == 0 || done) {
		return t.checkpoint()
	}
	return nil
}

func (t *Trainer) evaluated() bool {
	return len(t.evals) > 0 && t.evals[len(t.evals)-1].Iteration == t.it
}

// stepStats are the sums of one iteration's measurements.
type stepStats struct {
	dSteps                   int
	lossD, wass, pen, gpNorm float64
	gradD, acganD            float64
	lossG, gradG, acganG     float64
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// iteration runs NCritic critic steps and one generator step.
func (t *Trainer) iteration() (stepStats, error) {
	o, m := t.o, t.m
	cfg := m.Config
	if o.Hooks.BeforeIteration != nil {
		o.Hooks.BeforeIteration(t.it)
	}
	var st stepStats
	critic := func(x *autograd.Var) *autograd.Var { return m.D.Forward(x) }
	for k := range o.NCritic {
		where := fmt.Sprintf("critic step %d of %d", k+1, o.NCritic)
		real, labels := t.ld.Next()
		fl := t.fakeLabels()
		z := tensor.RandN(t.r, o.BatchSize, cfg.ZDim)
		var fake *tensor.Tensor
		autograd.NoGrad(func() { fake = m.G.ForwardLabels(autograd.Const(z), fl).Value })
		xr, xf := t.augment(autograd.Const(real)), t.augment(autograd.Const(fake))
		sr, lr := m.D.ForwardClasses(xr)
		sf, _ := m.D.ForwardClasses(xf)
		var loss *autograd.Var
		switch o.Loss {
		case WGANGP:
			loss = losses.WassersteinD(sr, sf)
		case Hinge:
			loss = losses.HingeD(sr, sf)
		case NonSaturating:
			loss = losses.NonSaturatingD(sr, sf)
		}
		if t.ada != nil {
			t.ada.Observe(sr.Value)
		}
		if !o.NoPenalty {
			var p losses.Penalty
			if o.Loss == NonSaturating {
				p = losses.R1(critic, xr.Value, o.Lambda)
			} else {
				p = losses.GradientPenalty(critic, xr.Value, xf.Value, o.Lambda, t.r)
			}
			loss = autograd.Add(loss, p.Loss)
			st.pen += float64(p.Loss.Item())
			st.gpNorm += p.MeanNorm()
		}
		if lr != nil && o.ACGANScale > 0 {
			ce := losses.CrossEntropy(lr, slices.Clone(labels))
			st.acganD += float64(ce.Item())
			loss = autograd.Add(loss, autograd.Scale(ce, float32(o.ACGANScale)))
		}
		if o.Hooks.Penalty != nil {
			if p := o.Hooks.Penalty("d", t.it); p != nil {
				loss = autograd.Add(loss, p)
			}
		}
		l := float64(loss.Item())
		if !finite(l) {
			return st, &NaNError{Iteration: t.it, Step: where, Name: "loss", Value: l}
		}
		t.optD.ZeroGrad()
		autograd.Backward(loss)
		norm, bad, v := gradNorm(t.optD)
		if bad != "" {
			return st, &NaNError{Iteration: t.it, Step: where, Name: bad, Value: v}
		}
		t.optD.Step()
		st.dSteps++
		st.lossD += l
		st.gradD += norm
		st.wass += mean(sr.Value) - mean(sf.Value)
		// Nothing of the step is read again: its activations and
		// gradients' graph go back to the memory pool for the next one.
		autograd.Free(loss)
	}

	// The generator's loss goes through the critic, but only the
	// generator is stepped: the critic's parameters are frozen for the
	// step (PyTorch's requires_grad_(False) on D), so that Backward computes
	// no gradient for them. Only those already holding a gradient are: the
	// next critic step zeroes it before its Backward, so the bits of
	// training are unchanged. One with no gradient yet keeps taking the
	// generator's, which makes the critic's Adam step it with the zero that
	// ZeroGrad leaves, as it always has.
	frozen := freezeHeld(t.optD)
	defer func() {
		for _, p := range frozen {
			p.Unfreeze()
		}
	}()
	fl := t.fakeLabels()
	z := tensor.RandN(t.r, o.BatchSize, cfg.ZDim)
	xf := t.augment(m.G.ForwardLabels(autograd.Const(z), fl))
	sf, lf := m.D.ForwardClasses(xf)
	var loss *autograd.Var
	switch o.Loss {
	case WGANGP:
		loss = losses.WassersteinG(sf)
	case Hinge:
		loss = losses.HingeG(sf)
	case NonSaturating:
		loss = losses.NonSaturatingG(sf)
	}
	if lf != nil && o.ACGANScaleG > 0 {
		ce := losses.CrossEntropy(lf, fl)
		st.acganG = float64(ce.Item())
		loss = autograd.Add(loss, autograd.Scale(ce, float32(o.ACGANScaleG)))
	}
	if o.Hooks.Penalty != nil {
		if p := o.Hooks.Penalty("g", t.it); p != nil {
			loss = autograd.Add(loss, p)
		}
	}
	l := float64(loss.Item())
	if !finite(l) {
		return st, &NaNError{Iteration: t.it, Step: "generator step", Name: "loss", Value: l}
	}
	t.optG.ZeroGrad()
	autograd.Backward(loss)
	norm, bad, v := gradNorm(t.optG)
	if bad != "" {
		return st, &NaNError{Iteration: t.it, Step: "generator step", Name: bad, Value: v}
	}
	t.optG.Step()
	st.lossG, st.gradG = l, norm
	if m.EMA != nil {
		updateEMA(m.EMA, m.G, t.o.EMA)
	}
	autograd.Free(loss)
	return st, nil
}

// freezeHeld freezes the parameters of opt that require gradients and
// hold one, leaving their Grad as it is, and returns them.
func freezeHeld(opt optim.Optimizer) []*nn.Param {
	var ps []*nn.Param
	for _, p := range opt.Params() {
		if !p.Param.Frozen() && p.Param.Grad != nil {
			p.Param.SetRequiresGrad(false)
			ps = append(ps, p.Param)
		}
	}
	return ps
}

func (t *Trainer) fakeLabels() []int {
	k := t.m.Config.Classes
	if k == 0 {
		return nil
	}
	l := make([]int, t.o.BatchSize)
	for i := range l {
		l[i] = t.r.IntN(k)
	}
	return l
}

// augment applies the run's augmentation to images the critic is about to
// see.
func (t *Trainer) augment(x *autograd.Var) *autograd.Var {
	switch {
	case t.pol != (augment.Policy{}):
		return augment.DiffAugment(x, t.pol, t.r)
	case t.ada != nil && t.ada.P > 0:
		return augment.ADAugment(x, t.ada.P, t.r)
	}
	return x
}

// gradNorm returns the Euclidean norm of the optimizer's gradients, or the
// name and value of the first one that is not finite.
func gradNorm(opt optim.Optimizer) (norm float64, bad string, v float64) {
	var s float64
	for _, p := range opt.Params() {
		g := p.Param.Grad
		if g == nil {
			continue
		}
		for _, x := range g.Data() {
			if f := float64(x); !finite(f) {
				return 0, p.Name, f
			}
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s), "", 0
}

// updateEMA moves ema's parameters towards g's, ema ← g + decay·(ema − g),
// and copies g's buffers.
func updateEMA(ema, g *Generator, decay float64) {
	src := nn.StateDict(g)
	params := map[string]bool{}
	for name, p := range nn.Parameters(ema) {
		params[name] = true
		e, s := p.Value.Data(), src[name].Data()
		d := float32(decay)
		for i := range e {
			e[i] = s[i] + d*(e[i]-s[i])
		}
	}
	for name, b := range nn.Buffers(ema) {
		copy(b.Value.Data(), src[name].Data())
	}
}

// evaluate measures the sampler (the EMA if any) against Eval.Real.
func (t *Trainer) evaluate() error {
	e := t.o.Eval
	r := rand.New(rand.NewPCG(t.o.Seed^uint64(t.it), streamEval))
	g := t.m.Sampler()
	rep := t.ev.Evaluate(g.Sample, e.Samples, r)
	var results []metrics.Result
	for _, name := range e.Metrics {
		switch name {
		case "fid":
			results = append(results, rep.FID)
		case "kid":
			results = append(results, rep.KID)
		case "precision":
			results = append(results, rep.Precision)
		case "recall":
			results = append(results, rep.Recall)
		case "iw":
			res, err := metrics.IW(g.Sample, e.IWTrain, e.Real, r, e.IW)
			if err != nil {
				// A diverging IW critic says nothing of the generator's
				// training: note it and go on.
				if t.run != nil {
					t.run.logf("eval it %d: %v", t.it, err)
				}
				continue
			}
			results = append(results, res)
		}
	}
	ev := EvalEvent{Iteration: t.it, Results: results}
	t.evals = append(t.evals, ev)
	if t.run != nil {
		if err := t.run.metrics(t, ev); err != nil {
			return err
		}
	}
	for _, res := range results {
		if e.Best != "" && metricKey(res.Metric) == e.Best && (t.best == nil || res.Value < *t.best) && t.it > 0 {
			v := res.Value
			t.best, t.bestI = &v, t.it
			if t.run != nil {
				if err := t.run.saveBest(t); err != nil {
					return err
				}
			}
		}
	}
	if t.o.OnEval != nil {
		t.o.OnEval(ev)
	}
	return nil
}

func metricKey(name string) string {
	switch name {
	case "FID":
		return "fid"
	case "KID":
		return "kid"
	case "IW":
		return "iw"
	}
	return name
}

func mean(t *tensor.Tensor) float64 {
	var s float64
	for _, v := range t.Data() {
		s += float64(v)
	}
	return s / float64(t.Len())
}
