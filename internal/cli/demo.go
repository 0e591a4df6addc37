package cli

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/transfer"
)

// The demo's budgets. The default fits 10 minutes on a 2-core machine
// (docs in README.md: "The demo"); --quick about a minute.
const (
	demoIters      = 120
	demoEvalN      = 1000
	demoQuickIters = 20
	demoQuickEvalN = 250
	demoLR         = 1e-4
	demoTargetN    = 1000
)

// demoCmd is `gantry demo`.
type demoCmd struct {
	outFlags
	runFlags
	Quick   bool
	Source  string
	Iters   int
	EvalN   int
	TargetN int
	LR      float64
	Seed    uint64
	// EvalEvery and CheckpointEvery default from Iters; a new run records
	// them in command.json so that a resume raising --iters keeps them.
	EvalEvery, CheckpointEvery int
}

func (o *demoCmd) define(f *flags) {
	o.outFlags.define(f)
	o.runFlags.define(f)
	f.Bool(&o.Quick, "quick", false, fmt.Sprintf("a run of about a minute: %d iterations each, %d samples per evaluation", demoQuickIters, demoQuickEvalN))
	f.String(&o.Source, "source", "shipped:mnist", "the pretrained GAN to transfer: a model file, a run folder or shipped:NAME")
	f.Int(&o.Iters, "iters", 0, fmt.Sprintf("iterations of each run (0: %d, or %d with --quick)", demoIters, demoQuickIters))
	f.Int(&o.EvalN, "eval-n", 0, fmt.Sprintf("generated images per evaluation, against the 1,000 held-out ones (0: %d, or %d with --quick)", demoEvalN, demoQuickEvalN))
	f.Int(&o.TargetN, "target-n", demoTargetN, "Fashion-MNIST training images of the target (a class-balanced subset of the 5,000 shipped)")
	f.Float(&o.LR, "lr", demoLR, "Adam's learning rate of both runs")
	f.Uint64(&o.Seed, "seed", 1, "seed of the target subset, the new weights, batches and evaluation")
	f.Int(&o.EvalEvery, "eval-every", 0, "iterations between evaluations (0: 6 in a run, 3 with --quick)")
	f.Int(&o.CheckpointEvery, "checkpoint-every", 0, "iterations between checkpoints (0: a quarter of the run, at least 10)")
}

func (o *demoCmd) check(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err := o.runFlags.check(); err != nil {
		return err
	}
	if o.Iters == 0 {
		o.Iters = demoIters
		if o.Quick {
			o.Iters = demoQuickIters
		}
	}
	if o.EvalN == 0 {
		o.EvalN = demoEvalN
		if o.Quick {
			o.EvalN = demoQuickEvalN
		}
	}
	if err := inRange("iters", o.Iters, 1, 1_000_000); err != nil {
		return err
	}
	if err := inRange("target-n", o.TargetN, 10, 5000); err != nil {
		return err
	}
	if err := enoughSamples([]string{"fid", "kid"}, 1000, o.EvalN, 0); err != nil {
		return fmt.Errorf("--eval-n %d: %w", o.EvalN, err)
	}
	if err := inRange("eval-n", o.EvalN, 2, 100_000); err != nil {
		return err
	}
	if !(o.LR > 0 && o.LR <= 1) {
		return fmt.Errorf("--lr %g is out of range: want a rate in (0, 1], such as 1e-4", o.LR)
	}
	if err := inRange("eval-every", o.EvalEvery, 0, 1_000_000); err != nil {
		return err
	}
	return inRange("checkpoint-every", o.CheckpointEvery, 0, 1_000_000)
}

func (o *demoCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	c.out.logEvery = 10
	src, srcPath, err := openModel("source", o.Source)
	if err != nil {
		return err
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = o.evalEvery()
		c.inv.Args = append(c.inv.Args, "--eval-every", strconv.Itoa(o.EvalEvery))
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = max(10, o.Iters/4)
		c.inv.Args = append(c.inv.Args, "--checkpoint-every", strconv.Itoa(o.CheckpointEvery))
	}
	res, ch := src.Config.Resolution, src.Config.Channels
	target := &dataFlags{Filter: "bilinear", Subset: o.TargetN, SubsetSeed: o.Seed}
	ds, err := target.open("shipped:fashion", res, ch)
	if err != nil {
		return err
	}
	heldOut, err := (&dataFlags{Filter: "bilinear"}).open("shipped:fashion-eval", res, ch)
	if err != nil {
		return err
	}
	proto := Protocol{Extractor: metrics.GrayName, Fingerprint: fingerprint(metrics.Gray(), ch), Real: "shipped:fashion-eval", Resize: heldOut.Resize, Seed: o.Seed}
	base := transfer.Options{
		Iterations: o.Iters, BatchSize: 16, LR: o.LR, Seed: o.Seed,
		LogEvery: 10, CheckpointEvery: o.CheckpointEvery, GridSize: 64,
		Eval: &gan.Eval{Every: o.EvalEvery, Real: heldOut.Dataset, Samples: o.EvalN, Metrics: []string{"fid", "kid"}},
	}
	dir, resume, err := o.prepare(c.inv, ds.Name)
	if err != nil {
		return err
	}
	runs := []struct {
		label string
		init  transfer.Init
	}{{"pretrained", transfer.InitBoth}, {"scratch", transfer.InitScratch}}
	if o.DryRun {
		m, err := transfer.Target(src, base)
		if err != nil {
			return err
		}
		return dryRun(c, dir, map[string]any{"source": srcPath, "runs": "pretrained (init both) and scratch (init scratch)", "transfer": base}, m, ds, base.Eval)
	}
	if err := writeProtocol(dir, base.Eval, proto); err != nil {
		return err
	}
	c.out.info("demo: fine-tune %s on %d Fashion-MNIST images and train the same network from scratch, %d iterations each; run folder %s", srcPath, ds.Len(), o.Iters, dir)
	c.out.event("start", map[string]any{"run_folder": dir, "source": srcPath, "resume": resume, "iterations": o.Iters})
	var tracked []trackedRun
	var reps []reportRun
	for _, r := range runs {
		opts := base
		opts.Init = r.init
		opts.Dir = filepath.Join(dir, r.label)
		opts.Resume = resume
		t := &tracker{c: c, run: r.label, proto: proto}
		opts.OnProgress, opts.OnEval = t.progress, t.eval
		start := time.Now()
		res, err := transfer.FineTune(c.ctx, src, ds.Dataset, opts)
		c.out.done()
		rr := reportRun{Label: r.label, Dir: opts.Dir, Proto: proto, Wall: time.Since(start)}
		reps = append(reps, rr)
		if rerr := writeReport(runReport{Dir: opts.Dir, Title: "gantry demo: " + r.label, Command: c.inv, Runs: []reportRun{rr}}); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			it, ckpt := 0, ""
			if res != nil {
				it, ckpt = res.Report.Iteration, res.Report.Checkpoint
			}
			_ = writeReport(runReport{Dir: dir, Title: "gantry demo (interrupted)", Command: c.inv, Runs: reps})
			return interrupted(c, err, dir, it, ckpt)
		}
		tracked = append(tracked, fromReport(r.label, res.Report, proto))
	}
	summary, ahead := demoSummary(tracked)
	var grids []string
	for _, r := range reps {
		grids = append(grids, filepath.Join(r.Dir, gan.GridName(o.Iters)))
	}
	if err := sideBySide(filepath.Join(dir, ComparisonFile), grids, src.Config.Resolution, 4); err != nil {
		return err
	}
	if err := writeReport(runReport{Dir: dir, Title: "gantry demo: transferring a GAN from MNIST to 1,000 Fashion-MNIST images", Command: c.inv, Summary: summary, Runs: reps}); err != nil {
		return err
	}
	var b strings.Builder
	fields := map[string]any{"run_folder": dir, "report": reportPath(dir), "pretrained_ahead": ahead, "summary": summary, "iterations": o.Iters}
	runsOut := map[string]any{}
	for _, r := range tracked {
		fmt.Fprintf(&b, "%s: %d iterations, %.2f s/it\n", r.label, r.iteration, r.secPerIter)
		for _, m := range r.final() {
			fmt.Fprintf(&b, "  %s\n", m)
		}
		runsOut[r.label] = map[string]any{"iterations": r.iteration, "sec_per_iter": r.secPerIter, "checkpoint": r.checkpoint, "metrics": r.final()}
	}
	fields["runs"] = runsOut
	fmt.Fprintf(&b, "%s\nreport: %s", summary, reportPath(dir))
	c.out.result(b.String(), fields)
	return nil
}

// evalEvery measures 6 times in a run (3 with --quick): at the start, the
// end and evenly between.
func (o *demoCmd) evalEvery() int {
	if o.Quick {
		return max(1, (o.Iters+1)/2)
	}
	return max(1, (o.Iters+4)/5)
}

// ComparisonFile is the demo's picture: the last fixed-noise samples of the
// pretrained run (left) and of the run from scratch (right).
const ComparisonFile = "comparison.png"

// sideBySide writes the first rows of grids (of images of side res) next
// to each other, with a white gap between them.
func sideBySide(path string, grids []string, res, rows int) error {
	var imgs []image.Image
	w, h := 0, 0
	const gap = 12
	for _, g := range grids {
		f, err := os.Open(g)
		if err != nil {
			return err
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", g, err)
		}
		imgs = append(imgs, img)
		w += img.Bounds().Dx() + gap
		h = max(h, min(img.Bounds().Dy(), gan.GridPadding+rows*(res+gan.GridPadding)))
	}
	out := image.NewRGBA(image.Rect(0, 0, w-gap, h))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	x := 0
	for _, img := range imgs {
		b := img.Bounds()
		draw.Draw(out, image.Rect(x, 0, x+b.Dx(), h), img, b.Min, draw.Src)
		x += b.Dx() + gap
	}
	return savePNG(path, out)
}

// demoSummary compares the two runs' final FID and KID.
func demoSummary(runs []trackedRun) (string, bool) {
	if len(runs) != 2 {
		return "", false
	}
	a, b := runs[0].final(), runs[1].final()
	get := func(ms []Measured, name string) (float64, error) {
		for _, m := range ms {
			if m.Metric == name {
				return float64(m.Value), nil
			}
		}
		return 0, errors.New("missing " + name)
	}
	fa, err1 := get(a, "FID")
	fb, err2 := get(b, "FID")
	ka, err3 := get(a, "KID")
	kb, err4 := get(b, "KID")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return "no final evaluation to compare", false
	}
	ahead := fa < fb && ka < kb
	verdict := "the pretrained start is ahead"
	if !ahead {
		verdict = "the pretrained start is NOT ahead on both metrics"
	}
	return fmt.Sprintf("After %d iterations each, %s: FID %.2f vs %.2f from scratch, KID %.5f vs %.5f (gantry-gray features, lower is better).",
		runs[0].iteration, verdict, fa, fb, ka, kb), ahead
}
