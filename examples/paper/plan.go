package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Measured costs the plan is sized with (README.md says where and how they
// were measured): a fine-tuning iteration at d=16, batch 16, 32×32; one
// FID+KID evaluation of Plan.Samples images against 1,000 held-out ones;
// one step of IW's critic; one ranking of three candidates for a target.
const (
	planSecPerIter  = 1.0
	planEvalSec     = 2.5
	planIWStepSec   = 0.14
	planRankSec     = 8.0
	planStartupSec  = 3.0 // loading data and the source, the first grid and checkpoints
	planTotalTarget = 3 * 3600
)

// runSeconds estimates one run of budget b.
func runSeconds(b Budget, secPerIter float64) float64 {
	evals := b.Iterations/b.EvalEvery + 1
	if b.Iterations%b.EvalEvery != 0 {
		evals++
	}
	return float64(b.Iterations)*secPerIter + float64(evals)*planEvalSec + float64(b.IWSteps)*planIWStepSec + planStartupSec
}

// PrintPlan writes each table's runs, how many are new (not run by an
// earlier table), and their estimated time.
func PrintPlan(w io.Writer, s *Study, secPerIter float64) {
	per := runSeconds(s.Budget, secPerIter)
	fmt.Fprintf(w, "budget: %+v\n", s.Budget)
	fmt.Fprintf(w, "one run ≈ %.0f s (%.2f s/iteration × %d, %d evaluations × %.1f s, IW %d steps × %.3f s)\n\n",
		per, secPerIter, s.Budget.Iterations, s.Budget.Iterations/s.Budget.EvalEvery+1, planEvalSec, s.Budget.IWSteps, planIWStepSec)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tseeds\truns\tnew\testimate\tcumulative")
	seen := map[string]bool{}
	var total float64
	for _, t := range Tables() {
		seeds := seedsOf(t, s.Seeds)
		specs := t.Specs(seeds)
		n := 0
		for _, sp := range specs {
			if !seen[sp.ID()] {
				seen[sp.ID()] = true
				n++
			}
		}
		est := float64(n) * per
		if t.Rank {
			est += float64(seeds*len(rankTargets)) * planRankSec
		}
		total += est
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", t.Key, seeds, len(specs), n, dur(est), dur(total))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d distinct runs, %d iterations in all; about %s (target %s)\n", len(seen), len(seen)*s.Budget.Iterations, dur(total), dur(planTotalTarget))
}
