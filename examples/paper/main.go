// Command paper runs gantry's reproduction of the findings of Wang et al.,
// "Transferring GANs: generating images from limited data" (ECCV 2018), at
// CPU scale, and writes docs/REPRODUCTION.md from its results.
//
// One command per table, each resumable (a finished run is skipped, an
// unfinished one continues from its checkpoint):
//
//	go run ./examples/paper -table 1 -out runs/study         # G/D initialisation
//	go run ./examples/paper -table 2 -out runs/study         # target size
//	go run ./examples/paper -table 4 -out runs/study         # sources × targets
//	go run ./examples/paper -table cond -out runs/study      # conditional transfer
//	go run ./examples/paper -table policies -out runs/study  # FreezeD, norm-only, L2-SP, EWC, DiffAugment, ADA
//	go run ./examples/paper -table rank -out runs/study      # RankSources vs fine-tuned FID
//	go run ./examples/paper -report -out runs/study          # docs/REPRODUCTION.md and docs/reproduction/
//
// -plan prints every table's runs and the time they should take. The source
// models are the shipped ones unless -mnist or -fashion give a model file.
// See README.md for the budget and what each table runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// command is how the documents quote this program.
const command = "go run ./examples/paper"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "paper:", err)
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "paper: stopped; the same command continues where it stopped")
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paper", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", "", "run the table(s): 1, 2, 4, cond, policies, rank, or all (comma-separated)")
	out := fs.String("out", "runs/study", "the study's folder of run folders")
	report := fs.Bool("report", false, "write the report from the finished runs")
	doc := fs.String("doc", "docs/REPRODUCTION.md", "the report's Markdown file")
	figures := fs.String("figures", "docs/reproduction", "the folder of the report's plots and sample strips")
	plan := fs.Bool("plan", false, "print each table's runs and their estimated time")
	secPerIter := fs.Float64("sec-per-iter", planSecPerIter, "with -plan: seconds per fine-tuning iteration")
	mnist := fs.String("mnist", "shipped:mnist", "the MNIST source: shipped:mnist or a model file")
	fashion := fs.String("fashion", "shipped:fashion", "the Fashion-MNIST source: shipped:fashion or a model file")
	seeds := fs.Int("seeds", 0, "seeds per cell for every table (0: each table's own)")
	b := Plan
	for _, f := range budgetFlags {
		fs.Var(budgetValue{f.field(&b)}, f.name, f.usage)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s -table KEY [-out DIR] | -report [-out DIR] | -plan\n\n", command)
		fmt.Fprintf(stderr, "Runs the study of Transferring GANs' tables at CPU scale; see examples/paper/README.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	s := &Study{
		Out: *out, Budget: b, Seeds: *seeds, Log: stdout,
		Sources: map[string]string{"mnist": *mnist, "fashion": *fashion},
	}
	if b != Plan {
		fmt.Fprintf(stderr, "paper: note: the budget differs from the committed plan (%+v)\n", b)
	}
	did := false
	if *plan {
		did = true
		PrintPlan(stdout, s, *secPerIter)
	}
	if *table != "" {
		did = true
		var keys []string
		if *table == "all" {
			for _, t := range Tables() {
				keys = append(keys, t.Key)
			}
		} else {
			keys = strings.Split(*table, ",")
		}
		for _, k := range keys {
			t, ok := TableByKey(strings.TrimSpace(k))
			if !ok {
				return fmt.Errorf("unknown table %q (want 1, 2, 4, cond, policies, rank or all)", k)
			}
			tm, err := s.RunTable(ctx, t)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "table %s: %d trained or ranked, %d already done, %s\n", t.Key, tm.Ran, tm.Skipped, dur(tm.Seconds))
		}
	}
	if *report {
		did = true
		res, err := LoadResults(*out)
		if err != nil {
			return err
		}
		var flags []string
		if *mnist != "shipped:mnist" {
			flags = append(flags, "-mnist", *mnist)
		}
		if *fashion != "shipped:fashion" {
			flags = append(flags, "-fashion", *fashion)
		}
		if *seeds > 0 {
			flags = append(flags, "-seeds", fmt.Sprint(*seeds))
		}
		err = WriteReport(res, ReportOptions{Doc: *doc, Figures: *figures, Seeds: *seeds, Sources: s.Sources, Command: command, Flags: flags})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and %s\n", *doc, *figures)
	}
	if !did {
		fs.Usage()
		return flag.ErrHelp
	}
	return nil
}

// budgetFlags are the flags that change the budget of the runs.
var budgetFlags = []struct {
	name, usage string
	field       func(*Budget) any
}{
	{"iterations", "iterations per run", func(b *Budget) any { return &b.Iterations }},
	{"batch", "images per step", func(b *Budget) any { return &b.BatchSize }},
	{"lr", "learning rate", func(b *Budget) any { return &b.LR }},
	{"eval-every", "iterations between FID/KID evaluations", func(b *Budget) any { return &b.EvalEvery }},
	{"samples", "generated images per evaluation", func(b *Budget) any { return &b.Samples }},
	{"eval-real", "held-out images used (0: all)", func(b *Budget) any { return &b.EvalReal }},
	{"iw-steps", "steps of IW's critic", func(b *Budget) any { return &b.IWSteps }},
	{"grid", "images per fixed-noise grid", func(b *Budget) any { return &b.GridSize }},
	{"kid-subset", "KID's subset size", func(b *Budget) any { return &b.KIDSubsetSize }},
}

// budgetArgs returns the flags that turn Plan into b.
func budgetArgs(b Budget) []string {
	var args []string
	for _, f := range budgetFlags {
		plan := Plan
		if v, p := (budgetValue{f.field(&b)}).String(), (budgetValue{f.field(&plan)}).String(); v != p {
			args = append(args, "-"+f.name, v)
		}
	}
	return args
}

// budgetValue is a flag.Value over an int or float64 field of a Budget.
type budgetValue struct{ p any }

func (v budgetValue) String() string {
	switch p := v.p.(type) {
	case *int:
		return strconv.Itoa(*p)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	return ""
}

func (v budgetValue) Set(s string) error {
	switch p := v.p.(type) {
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a count", s)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0) {
			return fmt.Errorf("%q is not a positive number", s)
		}
		*p = f
	}
	return nil
}
