package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
)

// schedFlags are the training schedule flags shared by train and finetune.
type schedFlags struct {
	Iters           int
	Batch           int
	LR              float64
	NCritic         int
	Lambda          float64
	Loss            string
	EMA             float64
	DiffAugment     string
	ADA             bool
	Seed            uint64
	LogEvery        int
	CheckpointEvery int
	GridSize        int
}

func (s *schedFlags) define(f *flags, iters, batch int, lr float64) {
	f.Int(&s.Iters, "iters", iters, "generator iterations to reach (each after --n-critic critic steps)")
	f.Int(&s.Batch, "batch", batch, "images per step")
	f.Float(&s.LR, "lr", lr, "Adam's learning rate for both networks")
	f.Int(&s.NCritic, "n-critic", 5, "critic steps per generator step")
	f.Float(&s.Lambda, "lambda", 10, "gradient penalty weight")
	f.String(&s.Loss, "loss", string(gan.WGANGP), "objective: wgan-gp, hinge or non-saturating")
	f.Float(&s.EMA, "ema", 0, "decay of a moving average of the generator, e.g. 0.999 (0: none)")
	f.String(&s.DiffAugment, "diffaugment", "", "DiffAugment policy for every image the critic sees, e.g. color,translation,cutout")
	f.Bool(&s.ADA, "ada", false, "adaptive augmentation (Karras et al. 2020) of every image the critic sees")
	f.Uint64(&s.Seed, "seed", 1, "seed of every random choice: weights, batches, noise, evaluation")
	f.Int(&s.LogEvery, "log-every", 10, "iterations per log line and stats.jsonl line")
	f.Int(&s.CheckpointEvery, "checkpoint-every", 500, "iterations between checkpoints")
	f.Int(&s.GridSize, "grid-size", 64, "fixed-noise samples in each grid")
}

func (s *schedFlags) check() error {
	var errs []string
	add := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	add(inRange("iters", s.Iters, 1, 10_000_000))
	add(inRange("batch", s.Batch, 1, 4096))
	add(inRange("n-critic", s.NCritic, 1, 100))
	add(inRange("log-every", s.LogEvery, 1, 1_000_000))
	add(inRange("checkpoint-every", s.CheckpointEvery, 1, 10_000_000))
	add(inRange("grid-size", s.GridSize, 1, 1024))
	if !(s.LR > 0 && s.LR <= 1) {
		errs = append(errs, fmt.Sprintf("--lr %g is out of range: want a rate in (0, 1], such as 1e-4", s.LR))
	}
	if !(s.Lambda >= 0 && s.Lambda <= 1e6) {
		errs = append(errs, fmt.Sprintf("--lambda %g is out of range: want 0 to 1e6", s.Lambda))
	}
	if !(s.EMA >= 0 && s.EMA < 1) {
		errs = append(errs, fmt.Sprintf("--ema %g is out of range: want 0 (none) or a decay in (0, 1) such as 0.999", s.EMA))
	}
	add(oneOf("loss", s.Loss, string(gan.WGANGP), string(gan.Hinge), string(gan.NonSaturating)))
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// evalFlags configure the evaluation during training.
type evalFlags struct {
	Spec    string
	Every   int
	N       int
	Metrics string
}

func (e *evalFlags) define(f *flags) {
	f.String(&e.Spec, "eval", "", "held-out real images to measure against (default for shipped:NAME data: shipped:NAME-eval; \"none\": no evaluation)")
	f.Int(&e.Every, "eval-every", 0, "iterations between evaluations (0: about 4 in a run, with one at the start and the end)")
	f.Int(&e.N, "eval-n", 0, "generated images per evaluation (0: as many as --eval holds)")
	f.String(&e.Metrics, "metrics", "fid,kid", "metrics during training: fid, kid, precision, recall")
}

func (e *evalFlags) check() error {
	for _, m := range list(e.Metrics) {
		if err := oneOf("metrics", m, "fid", "kid", "precision", "recall"); err != nil {
			return err
		}
	}
	if len(list(e.Metrics)) == 0 {
		return errors.New("--metrics names no metric: want some of fid, kid, precision, recall")
	}
	if e.Every < 0 || e.N < 0 {
		return errors.New("--eval-every and --eval-n must not be negative")
	}
	return nil
}

// evaluation opens the evaluation set for training on d and returns the
// trainer's Eval (nil for none) and the protocol base of its results.
func (e *evalFlags) open(d *dataFlags, train *dataset, iters int, seed uint64) (*gan.Eval, Protocol, error) {
	spec := e.Spec
	if spec == "" && strings.HasPrefix(d.Spec, "shipped:") && !strings.HasSuffix(d.Spec, "-eval") {
		spec = d.Spec + "-eval"
	}
	if spec == "" || spec == "none" {
		return nil, Protocol{}, nil
	}
	real, err := (&dataFlags{Filter: d.Filter, Crop: d.Crop}).open(spec, train.Size, train.Channels)
	if err != nil {
		return nil, Protocol{}, fmt.Errorf("--eval: %w", err)
	}
	n := e.N
	if n == 0 {
		n = real.Len()
	}
	if err := enoughSamples(list(e.Metrics), real.Len(), n, metrics.DefaultK); err != nil {
		return nil, Protocol{}, fmt.Errorf("--eval %s: %w", spec, err)
	}
	every := e.Every
	if every == 0 {
		every = max(1, (iters+3)/4)
	}
	ev := &gan.Eval{Every: every, Real: real.Dataset, Samples: n, Metrics: list(e.Metrics)}
	base := Protocol{Extractor: metrics.GrayName, Fingerprint: fingerprint(metrics.Gray(), train.Channels), Real: spec, Resize: real.Resize, Seed: seed}
	return ev, base, nil
}

// enoughSamples returns an error saying how many images the metrics need
// when there are fewer.
func enoughSamples(ms []string, nReal, nFake, k int) error {
	need := 2
	why := "FID and KID need at least 2 images on each side"
	for _, m := range ms {
		switch m {
		case "precision", "recall", "pr":
			if k+1 > need {
				need, why = k+1, fmt.Sprintf("precision and recall with k=%d need at least %d images on each side", k, k+1)
			}
		case "iw":
			if 4 > need {
				need, why = 4, "IW needs at least 4 real images (half train its critic, half evaluate it)"
			}
		}
	}
	if nReal < need || nFake < need {
		return fmt.Errorf("too few images to measure: %s; there are %d real and %d generated", why, nReal, nFake)
	}
	return nil
}

// trainingFlags are the flags train and finetune share.
type trainingFlags struct {
	outFlags
	runFlags
	data         dataFlags
	sched        schedFlags
	eval         evalFlags
	Classes      int
	Conditioning string
}

func (o *trainingFlags) define(f *flags, dataUsage string, resolution, iters, batch int, lr float64, classesUsage string) {
	o.outFlags.define(f)
	o.runFlags.define(f)
	o.data.define(f, "data", dataUsage, resolution)
	o.sched.define(f, iters, batch, lr)
	o.eval.define(f)
	f.Int(&o.Classes, "classes", 0, classesUsage)
	f.String(&o.Conditioning, "conditioning", "", "how a conditional generator takes its label: batchnorm or concat")
}

func (o *trainingFlags) check(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q: give the images with --data", pos[0])
	}
	for _, err := range []error{o.runFlags.check(), o.data.check("data", o.Resume == ""), o.sched.check(), o.eval.check(), inRange("classes", o.Classes, 0, 10000)} {
		if err != nil {
			return err
		}
	}
	if o.Conditioning != "" {
		if o.Classes == 0 {
			return errors.New("--conditioning needs --classes")
		}
		return oneOf("conditioning", o.Conditioning, string(gan.CondBatchNorm), string(gan.CondConcat))
	}
	return nil
}

// trainCmd is `gantry train`.
type trainCmd struct {
	trainingFlags
	Width, ZDim int
}

func (o *trainCmd) define(f *flags) {
	o.trainingFlags.define(f, "training images: a folder (sub-folders are classes), an IDX file or shipped:NAME", 32, 2000, 64, 1e-4,
		"train a conditional AC-GAN on the data's labels with this many classes (0: unconditional)")
	f.Int(&o.Width, "width", 16, "network width d: the widest layers have 8·d channels (the paper: 64)")
	f.Int(&o.ZDim, "zdim", 128, "size of the latent vector z")
}

func (o *trainCmd) check(pos []string) error {
	if err := o.trainingFlags.check(pos); err != nil {
		return err
	}
	if o.data.Resolution == 0 {
		return errors.New("--resolution must be given for train: 16, 32, 64 or 128")
	}
	if err := inRange("width", o.Width, 1, 512); err != nil {
		return err
	}
	return inRange("zdim", o.ZDim, 1, 4096)
}

func (o *trainCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	c.out.logEvery = o.sched.LogEvery
	ds, err := o.data.open(o.data.Spec, o.data.Resolution, o.data.Channels)
	if err != nil {
		return err
	}
	reportSkipped(c, ds)
	ev, proto, err := o.eval.open(&o.data, ds, o.sched.Iters, o.sched.Seed)
	if err != nil {
		return err
	}
	cfg := gan.Config{Resolution: o.data.Resolution, Channels: ds.Channels, Width: o.Width, ZDim: o.ZDim, Classes: o.Classes, Conditioning: gan.Conditioning(o.Conditioning)}
	m, err := gan.New(cfg, rand.New(rand.NewPCG(o.sched.Seed, 1)))
	if err != nil {
		return err
	}
	if o.Classes > 0 {
		if err := checkLabels(ds.Dataset, o.Classes); err != nil {
			return err
		}
	}
	if ev != nil && o.eval.Every == 0 {
		// Record the default, which depends on --iters, so that a resume
		// raising --iters evaluates as the run began.
		c.inv.Args = append(c.inv.Args, "--eval-every", strconv.Itoa(ev.Every))
	}
	dir, resume, err := o.prepare(c.inv, ds.Name)
	if err != nil {
		return err
	}
	if resume {
		if err := sameConfig(dir, cfg); err != nil {
			return err
		}
	}
	opts := o.sched.ganOptions()
	opts.Eval, opts.Dir, opts.Resume = ev, dir, resume
	if o.DryRun {
		return dryRun(c, dir, opts, m, ds, ev)
	}
	if !resume {
		opts.Dir = dir
	}
	t := &tracker{c: c, run: "train", proto: proto}
	opts.OnProgress, opts.OnEval = t.progress, t.eval
	if err := writeProtocol(dir, ev, proto); err != nil {
		return err
	}
	c.out.info("run folder %s", dir)
	c.out.event("start", map[string]any{"run_folder": dir, "resume": resume})
	start := time.Now()
	res, err := gan.Train(c.ctx, m, ds.Dataset, opts)
	c.out.done()
	var it int
	var ckpt string
	if res != nil {
		it, ckpt = res.Iteration, res.Checkpoint
	}
	rep := runReport{Dir: dir, Title: "gantry train " + ds.Name, Command: c.inv, Runs: []reportRun{{Label: "train", Dir: dir, Proto: proto, Wall: time.Since(start)}}}
	if rerr := writeReport(rep); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return interrupted(c, err, dir, it, ckpt)
	}
	return finish(c, dir, []trackedRun{{label: "train", res: res.Evals, proto: proto, secPerIter: res.SecPerIter, iteration: res.Iteration, checkpoint: res.Checkpoint}})
}

func (s *schedFlags) ganOptions() gan.Options {
	return gan.Options{
		Iterations: s.Iters, Loss: gan.Loss(s.Loss), BatchSize: s.Batch, NCritic: s.NCritic,
		Lambda: s.Lambda, NoPenalty: s.Lambda == 0 && gan.Loss(s.Loss) != gan.WGANGP,
		LRG: s.LR, LRD: s.LR, EMA: s.EMA, DiffAugment: s.DiffAugment, ADA: s.ADA, Seed: s.Seed,
		LogEvery: s.LogEvery, CheckpointEvery: s.CheckpointEvery, GridSize: s.GridSize,
	}
}

func checkLabels(ds data.Dataset, classes int) error {
	for i := 0; i < ds.Len(); i++ {
		if l := ds.Label(i); l < 0 || l >= classes {
			return fmt.Errorf("--classes %d: image %d has label %d; a conditional model needs every image labelled 0 to %d (sub-folders of the data folder are the classes)", classes, i, l, classes-1)
		}
	}
	return nil
}

func reportSkipped(c *call, ds *dataset) {
	for _, s := range ds.Skipped {
		c.out.info("skipped %s", s)
		c.out.event("skipped", map[string]any{"file": s.Path, "reason": s.Err.Error()})
	}
}

// tracker forwards a training run's progress and evaluations to the
// printer.
type tracker struct {
	c     *call
	run   string
	proto Protocol
}

func (t *tracker) progress(p gan.Progress) { t.c.out.progress(t.run, p) }

func (t *tracker) eval(e gan.EvalEvent) {
	t.c.out.measured(t.run, e.Iteration, measureAll(e.Results, t.proto))
}

func measureAll(rs []metrics.Result, base Protocol) []Measured {
	var out []Measured
	for _, r := range rs {
		out = append(out, measure(r, base))
	}
	return out
}

// trackedRun is a finished run's summary for the result.
type trackedRun struct {
	label      string
	res        []gan.EvalEvent
	proto      Protocol
	secPerIter float64
	iteration  int
	checkpoint string
}

func (r trackedRun) final() []Measured {
	if len(r.res) == 0 {
		return nil
	}
	return measureAll(r.res[len(r.res)-1].Results, r.proto)
}

// finish prints the result of a training command.
func finish(c *call, dir string, runs []trackedRun) error {
	var b strings.Builder
	fields := map[string]any{"run_folder": dir}
	for _, r := range runs {
		fmt.Fprintf(&b, "%s: %d iterations, %.2f s/it, checkpoint %s\n", r.label, r.iteration, r.secPerIter, r.checkpoint)
		for _, m := range r.final() {
			fmt.Fprintf(&b, "  %s\n", m)
		}
		fields[r.label] = map[string]any{"iterations": r.iteration, "sec_per_iter": r.secPerIter, "checkpoint": r.checkpoint, "metrics": r.final()}
	}
	fmt.Fprintf(&b, "report: %s", reportPath(dir))
	fields["report"] = reportPath(dir)
	c.out.result(b.String(), fields)
	return nil
}

// dryRun prints what a training command would do.
func dryRun(c *call, dir string, opts any, m *gan.Model, ds *dataset, ev *gan.Eval) error {
	info := map[string]any{
		"run_folder": dir,
		"options":    opts,
		"model": map[string]any{
			"config":       m.Config,
			"params_g":     gan.NumParams(m.G),
			"params_d":     gan.NumParams(m.D),
			"config_short": m.Config.String(),
		},
		"data": map[string]any{"spec": ds.Spec, "images": ds.Len(), "shape": data.ImageShape(ds), "classes": len(data.Classes(ds)), "resize": ds.Resize, "skipped": len(ds.Skipped)},
	}
	if ev != nil {
		info["eval"] = map[string]any{"images": ev.Real.Len(), "samples": ev.Samples, "every": ev.Every, "metrics": ev.Metrics}
	}
	if c.out.mode == modeJSON {
		c.out.result("", info)
		return nil
	}
	b, _ := json.MarshalIndent(finite(opts), "", "  ")
	var s strings.Builder
	fmt.Fprintf(&s, "dry run: nothing written\nrun folder: %s\nmodel: %s; generator %d parameters, critic %d\n", dir, m.Config, gan.NumParams(m.G), gan.NumParams(m.D))
	fmt.Fprintf(&s, "data: %s: %d images of %v (%s), %d classes", ds.Spec, ds.Len(), data.ImageShape(ds), ds.Resize, len(data.Classes(ds)))
	if len(ds.Skipped) > 0 {
		fmt.Fprintf(&s, ", %d files skipped", len(ds.Skipped))
	}
	s.WriteString("\n")
	if ev != nil {
		fmt.Fprintf(&s, "evaluation: %d held-out images, %d samples, every %d iterations, %s\n", ev.Real.Len(), ev.Samples, ev.Every, strings.Join(ev.Metrics, ","))
	}
	fmt.Fprintf(&s, "options: %s", b)
	c.out.result(s.String(), nil)
	return nil
}

// sameConfig refuses to resume a run folder whose model is of another
// architecture than the flags ask for (the trainer takes the model from the
// checkpoint, so a changed --width would otherwise pass unnoticed).
func sameConfig(dir string, cfg gan.Config) error {
	b, err := os.ReadFile(filepath.Join(dir, gan.OptionsFile))
	if err != nil {
		return nil // no run yet: nothing to compare
	}
	var saved struct {
		Config gan.Config `json:"config"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, gan.OptionsFile), err)
	}
	if saved.Config.WithDefaults() != cfg.WithDefaults() {
		return fmt.Errorf("the run in %s trains a %s model, the flags ask for %s; drop the architecture flags to resume it, or start a new run", dir, saved.Config.WithDefaults(), cfg.WithDefaults())
	}
	return nil
}
