package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/transfer"
)

// finetuneCmd is `gantry finetune`: every option of transfer.FineTune.
type finetuneCmd struct {
	trainingFlags
	Source     string
	Init       string
	FreezeD    int
	FreezeG    string
	NormOnly   bool
	Unfreeze   string
	LRMult     string
	L2SP       float64
	EWC        float64
	EWCBatches int

	freezeG  []int
	unfreeze []transfer.Unfreeze
	lrMult   map[string]float64
}

func (o *finetuneCmd) define(f *flags) {
	o.trainingFlags.define(f, "target images: a folder (sub-folders are classes), an IDX file or shipped:NAME", 0, 1000, 16, 1e-5,
		"make the target a conditional AC-GAN with this many classes (the data's labels)")
	f.String(&o.Source, "source", "shipped:mnist", "the pretrained GAN: a model file, a run folder or shipped:NAME")
	f.String(&o.Init, "init", string(transfer.InitBoth), "networks taken from the source: both, d, g or scratch (the paper's Table 1)")
	f.Int(&o.FreezeD, "freeze-d", 0, "keep the critic's input layer and first K blocks fixed (FreezeD): 0 to 4")
	f.String(&o.FreezeG, "freeze-g", "", "generator blocks to keep fixed, e.g. 0,1 (blocks 0 to 3)")
	f.Bool(&o.NormOnly, "norm-only", false, "train only the generator's normalisation scales and offsets")
	f.String(&o.Unfreeze, "unfreeze", "", "lift freezing on a schedule: ITER:PREFIX,... e.g. 500:g.blocks.3.,1000:d.blocks.")
	f.String(&o.LRMult, "lr-mult", "", "learning-rate multipliers by parameter prefix: PREFIX=X,... e.g. g.blocks.0.=0.1")
	f.Float(&o.L2SP, "l2sp", 0, "weight α of the L2-SP regulariser towards the source weights (0: none)")
	f.Float(&o.EWC, "ewc", 0, "weight λ of elastic weight consolidation on the generator (0: none)")
	f.Int(&o.EWCBatches, "ewc-batches", 16, "batches the EWC Fisher information is averaged over")
}

func (o *finetuneCmd) check(pos []string) error {
	if err := o.trainingFlags.check(pos); err != nil {
		return err
	}
	if err := oneOf("init", o.Init, string(transfer.InitBoth), string(transfer.InitD), string(transfer.InitG), string(transfer.InitScratch)); err != nil {
		return err
	}
	if err := inRange("freeze-d", o.FreezeD, 0, 4); err != nil {
		return err
	}
	var err error
	if o.freezeG, err = intList("freeze-g", o.FreezeG); err != nil {
		return err
	}
	for _, b := range o.freezeG {
		if err := inRange("freeze-g", b, 0, 3); err != nil {
			return err
		}
	}
	o.unfreeze = nil
	for _, e := range list(o.Unfreeze) {
		at, prefix, ok := strings.Cut(e, ":")
		n, err := strconv.Atoi(at)
		if !ok || err != nil || n < 0 || prefix == "" {
			return fmt.Errorf("--unfreeze %q: want ITER:PREFIX entries such as %q", e, "500:g.blocks.3.")
		}
		o.unfreeze = append(o.unfreeze, transfer.Unfreeze{At: n, Prefix: prefix})
	}
	o.lrMult = nil
	for _, e := range list(o.LRMult) {
		prefix, x, ok := strings.Cut(e, "=")
		v, err := strconv.ParseFloat(x, 64)
		if !ok || err != nil || prefix == "" || !(v >= 0 && v <= 1e6) {
			return fmt.Errorf("--lr-mult %q: want PREFIX=X entries with X from 0 to 1e6, such as g.blocks.0.=0.1", e)
		}
		if o.lrMult == nil {
			o.lrMult = map[string]float64{}
		}
		o.lrMult[prefix] = v
	}
	if !(o.L2SP >= 0 && o.L2SP <= 1e9) || !(o.EWC >= 0 && o.EWC <= 1e12) {
		return errors.New("--l2sp and --ewc must be weights of 0 or more")
	}
	if err := inRange("ewc-batches", o.EWCBatches, 1, 10000); err != nil {
		return err
	}
	return nil
}

func (o *finetuneCmd) options() transfer.Options {
	return transfer.Options{
		Init: transfer.Init(o.Init), Iterations: o.sched.Iters, BatchSize: o.sched.Batch, LR: o.sched.LR,
		NCritic: o.sched.NCritic, Lambda: o.sched.Lambda, Loss: gan.Loss(o.sched.Loss), Seed: o.sched.Seed,
		FreezeD: o.FreezeD, FreezeG: o.freezeG, NormOnly: o.NormOnly, Unfreeze: o.unfreeze, LRMult: o.lrMult,
		L2SP: o.L2SP, EWC: o.EWC, EWCBatches: o.EWCBatches,
		DiffAugment: o.sched.DiffAugment, ADA: o.sched.ADA, EMA: o.sched.EMA,
		Classes: o.Classes, Conditioning: gan.Conditioning(o.Conditioning),
		LogEvery: o.sched.LogEvery, CheckpointEvery: o.sched.CheckpointEvery, GridSize: o.sched.GridSize,
	}
}

func (o *finetuneCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	c.out.logEvery = o.sched.LogEvery
	src, srcPath, err := openModel("source", o.Source)
	if err != nil {
		return err
	}
	res, ch := o.data.Resolution, o.data.Channels
	if res == 0 {
		res = src.Config.Resolution
	}
	if ch == 0 {
		ch = src.Config.Channels
	}
	if res != src.Config.Resolution || ch != src.Config.Channels {
		return fmt.Errorf("the source %s makes %dx%d images with %d channels, but --resolution %d --channels %d were asked; drop them to take the source's, or choose a source of that size", srcPath, src.Config.Resolution, src.Config.Resolution, src.Config.Channels, res, ch)
	}
	ds, err := o.data.open(o.data.Spec, res, ch)
	if err != nil {
		return err
	}
	reportSkipped(c, ds)
	if o.Classes > 0 {
		if err := checkLabels(ds.Dataset, o.Classes); err != nil {
			return err
		}
	}
	ev, proto, err := o.eval.open(&o.data, ds, o.sched.Iters, o.sched.Seed)
	if err != nil {
		return err
	}
	opts := o.options()
	opts.Eval = ev
	if err := opts.Validate(); err != nil {
		return &UsageError{Msg: err.Error()}
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
	opts.Dir, opts.Resume = dir, resume
	if o.DryRun {
		m, err := transfer.Target(src, opts)
		if err != nil {
			return err
		}
		return dryRun(c, dir, opts, m, ds, ev)
	}
	if err := writeProtocol(dir, ev, proto); err != nil {
		return err
	}
	c.out.info("run folder %s (source %s)", dir, srcPath)
	c.out.event("start", map[string]any{"run_folder": dir, "source": srcPath, "resume": resume})
	t := &tracker{c: c, run: "finetune", proto: proto}
	opts.OnProgress, opts.OnEval = t.progress, t.eval
	start := time.Now()
	r, err := transfer.FineTune(c.ctx, src, ds.Dataset, opts)
	c.out.done()
	rep := runReport{Dir: dir, Title: "gantry finetune " + ds.Name, Command: c.inv, Runs: []reportRun{{Label: "finetune", Dir: dir, Proto: proto, Wall: time.Since(start)}}}
	if rerr := writeReport(rep); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		it, ckpt := 0, ""
		if r != nil {
			it, ckpt = r.Report.Iteration, r.Report.Checkpoint
		}
		return interrupted(c, err, dir, it, ckpt)
	}
	return finish(c, dir, []trackedRun{fromReport("finetune", r.Report, proto)})
}

func fromReport(label string, r transfer.Report, proto Protocol) trackedRun {
	return trackedRun{label: label, res: r.Evals, proto: proto, secPerIter: r.SecPerIter, iteration: r.Iteration, checkpoint: r.Checkpoint}
}
