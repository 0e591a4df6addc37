package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// The costs the plan is sized with (README.md says where and how they were
// found): a fine-tuning iteration at d=16, batch 16, 32×32 on two threads,
// and, in iterations' worth, one FID+KID evaluation of Plan.Samples images
// against 1,000 held-out ones, one step of IW's critic and one ranking of
// three candidates for a target.
const (
	planSecPerIter   = 1.2
	planEvalIters    = 2.1
	planIWStepIters  = 0.14
	planRankIters    = 7
	planStartupIters = 3 // loading data and the source, the first grid and checkpoints
	planTotalTarget  = 3 * 3600
)

// evals is the number of FID/KID evaluations of a run of budget b: at 0,
// every EvalEvery iterations, and at the end.
func evals(b Budget) int {
	n := b.Iterations/b.EvalEvery + 1
	if b.Iterations%b.EvalEvery != 0 {
		n++
	}
	return n
}

// runSeconds estimates one run of budget b.
func runSeconds(b Budget, secPerIter float64) float64 {
	return secPerIter * (float64(b.Iterations) + float64(evals(b))*planEvalIters + float64(b.IWSteps)*planIWStepIters + planStartupIters)
}

// PrintPlan writes each table's runs, how many are new (not run by an
// earlier table), and their estimated time.
func PrintPlan(w io.Writer, s *Study, secPerIter float64) {
	per := runSeconds(s.Budget, secPerIter)
	fmt.Fprintf(w, "budget: %+v\n", s.Budget)
	fmt.Fprintf(w, "one run ≈ %.0f s: %.2f s/iteration × (%d iterations + %d evaluations × %.1f + IW %d steps × %.2f + %d)\n\n",
		per, secPerIter, s.Budget.Iterations, evals(s.Budget), planEvalIters, s.Budget.IWSteps, planIWStepIters, planStartupIters)
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
			est += float64(seeds*len(rankTargets)) * planRankIters * secPerIter
		}
		total += est
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", t.Key, seeds, len(specs), n, dur(est), dur(total))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d distinct runs, %d iterations in all; about %s (target %s)\n", len(seen), len(seen)*s.Budget.Iterations, dur(total), dur(planTotalTarget))
}
