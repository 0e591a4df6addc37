package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gantry-go/gantry/metrics"
)

// Stat is a cell's mean and sample standard deviation over its seeds.
type Stat struct {
	Mean, SD float64
	N        int
}

func stat(vs []float64) Stat {
	if len(vs) == 0 {
		return Stat{}
	}
	var m float64
	for _, v := range vs {
		m += v
	}
	m /= float64(len(vs))
	var ss float64
	for _, v := range vs {
		ss += (v - m) * (v - m)
	}
	sd := 0.0
	if len(vs) > 1 {
		sd = math.Sqrt(ss / float64(len(vs)-1))
	}
	return Stat{Mean: m, SD: sd, N: len(vs)}
}

// format writes a stat with the given precision, marking fewer than three
// seeds.
func (s Stat) format(prec int) string {
	if s.N == 0 {
		return "—"
	}
	v := fmt.Sprintf("%.*f", prec, s.Mean)
	if s.N > 1 {
		v += fmt.Sprintf(" ± %.*f", prec, s.SD)
	}
	if s.N < 3 {
		v += fmt.Sprintf(" (n=%d)", s.N)
	}
	return v
}

// metricDef is a metric of the report: how to read it from an outcome, how
// to print it, and whether lower is better.
type metricDef struct {
	Key, Name string
	Scale     float64
	Prec      int
	Lower     bool
	Get       func(*Outcome) *metrics.Result
}

var reportMetrics = []metricDef{
	{"fid", "FID (gantry-gray, lower is better)", 1, 2, true, func(o *Outcome) *metrics.Result { return o.FID }},
	{"kid", "KID (gantry-gray, lower is better)", 1, 3, true, func(o *Outcome) *metrics.Result { return o.KID }},
	{"iw", "IW (higher is better)", 1, 3, false, func(o *Outcome) *metrics.Result { return o.IW }},
}

// Results holds every finished run of a study folder by ID, and its
// rankings.
type Results struct {
	Out      string
	Outcomes map[string]*Outcome
	Rankings map[string]*Ranking // by RankFile's base name
	Timings  []Timing
}

// LoadResults reads the outcomes, rankings and timings of a study folder.
func LoadResults(out string) (*Results, error) {
	r := &Results{Out: out, Outcomes: map[string]*Outcome{}, Rankings: map[string]*Ranking{}}
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		o, err := ReadOutcome(filepath.Join(out, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		r.Outcomes[o.ID] = o
	}
	rks, _ := filepath.Glob(filepath.Join(out, "rank", "*.json"))
	for _, p := range rks {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var rk Ranking
		if err := json.Unmarshal(b, &rk); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		r.Rankings[filepath.Base(p)] = &rk
	}
	if f, err := os.Open(filepath.Join(out, TimingFile)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var t Timing
			if json.Unmarshal(sc.Bytes(), &t) == nil {
				r.Timings = append(r.Timings, t)
			}
		}
		f.Close()
	}
	return r, nil
}

// runs returns the finished runs of a cell, over seeds 1..seeds.
func (r *Results) runs(cell Spec, seeds int) []*Outcome {
	var out []*Outcome
	for seed := 1; seed <= seeds; seed++ {
		if o, ok := r.Outcomes[cell.norm().withSeed(uint64(seed)).ID()]; ok {
			out = append(out, o)
		}
	}
	return out
}

// Stat returns a cell's statistic under a metric, in the metric's printed
// scale, over the runs that have it.
func (r *Results) Stat(cell Spec, seeds int, m metricDef) Stat {
	var vs []float64
	for _, o := range r.runs(cell, seeds) {
		if v := m.Get(o); v != nil && !math.IsNaN(v.Value) {
			vs = append(vs, v.Value*m.Scale)
		}
	}
	return stat(vs)
}

// Verdict is a claim checked under one metric.
type Verdict struct{ Holds, OK bool }

func (v Verdict) String() string {
	switch {
	case !v.OK:
		return "not run"
	case v.Holds:
		return "reproduces"
	}
	return "does not reproduce"
}

// Check evaluates a claim under a metric.
func (r *Results) Check(c Claim, seeds int, m metricDef) Verdict {
	h, ok := c.Check(func(s Spec) (float64, bool) {
		st := r.Stat(s, seeds, m)
		if st.N == 0 {
			return 0, false
		}
		if !m.Lower {
			return -st.Mean, true
		}
		return st.Mean, true
	})
	return Verdict{h, ok}
}

// ReportOptions say where the report goes and how the runs were made.
type ReportOptions struct {
	// Doc is the Markdown file written; Figures the folder of its PNGs,
	// which the Markdown links relative to Doc's folder.
	Doc, Figures string
	// Seeds, when positive, replaces each table's number of seeds (as the
	// -seeds flag of the runs did).
	Seeds int
	// Sources are the source models the runs used, for the record.
	Sources map[string]string
	// Command is the program as the commands quote it; Flags are the
	// flags its runs were given beside -table, -out and the budget's
	// (sources, seeds).
	Command string
	Flags   []string
}

var interpRe = regexp.MustCompile(`(?s)<!-- BEGIN interpretation (\S+) -->\n(.*?)<!-- END interpretation \S+ -->`)

const interpPlaceholder = "_To be written by a person after reading the numbers above: why this finding does or does not hold at this scale._\n"

// WriteReport writes the Markdown report and its figures from a study
// folder's results. Text a person wrote between the interpretation markers
// of an existing report is kept.
func WriteReport(res *Results, o ReportOptions) error {
	kept := map[string]string{}
	if b, err := os.ReadFile(o.Doc); err == nil {
		for _, m := range interpRe.FindAllStringSubmatch(string(b), -1) {
			kept[m[1]] = m[2]
		}
	}
	if err := os.MkdirAll(o.Figures, 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(o.Doc), o.Figures)
	if err != nil {
		return err
	}
	var w strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&w, format, a...) }
	interp := func(key string) {
		text, ok := kept[key]
		if !ok {
			text = interpPlaceholder
		}
		p("**Interpretation** (written by hand; kept when the report is regenerated):\n\n")
		p("<!-- BEGIN interpretation %s -->\n%s<!-- END interpretation %s -->\n\n", key, text, key)
	}

	p("# Reproducing Transferring GANs at CPU scale\n\n")
	p("Generated by `%s` from the run folders of the study (`examples/paper`); every number below comes from a run\n",
		strings.Join(append([]string{o.Command, "-report", "-out", filepath.ToSlash(res.Out)}, res.flags(o)...), " "))
	p("that the table's command trains, evaluates and records. FID and KID are computed on gantry-gray features, not on\n")
	p("Inception: they rank models against each other here and must not be compared with the paper's values. IW is the\n")
	p("independent Wasserstein critic of the paper, negative, higher is better.\n\n")

	tables := Tables()
	// tally counts, per metric, the paper's findings checked and those that
	// hold (the policies are not the paper's and are counted apart).
	type tally struct{ held, checked int }
	paper, follow := make([]tally, len(reportMetrics)), make([]tally, len(reportMetrics))
	count := func(ts []tally, i int, v Verdict) {
		if v.OK {
			ts[i].checked++
			if v.Holds {
				ts[i].held++
			}
		}
	}
	p("## Summary\n\n| table | the paper's finding, as checked | FID | KID | IW |\n| --- | --- | --- | --- | --- |\n")
	for _, t := range tables {
		seeds := seedsOf(t, o.Seeds)
		ts := paper
		if t.Key == "policies" {
			ts = follow
		}
		for _, c := range t.Claims {
			p("| %s | %s |", t.Key, c.Text)
			for i, m := range reportMetrics {
				v := res.Check(c, seeds, m)
				count(ts, i, v)
				p(" %s |", r2s(v))
			}
			p("\n")
		}
		if t.Rank {
			for _, tgt := range rankTargets {
				v := res.rankVerdict(tgt, seeds)
				count(ts, 0, v)
				p("| %s | the ranking predicts the fine-tuned order on %s (Spearman > 0) | %s | | |\n", t.Key, targetNames[tgt], r2s(v))
			}
		}
	}
	p("\n**Headline**: of the paper's findings checked, %d of %d hold on FID (KID: %d of %d; IW: %d of %d); "+
		"of the follow-up policies, %d of %d beat plain fine-tuning on FID.\n\n",
		paper[0].held, paper[0].checked, paper[1].held, paper[1].checked, paper[2].held, paper[2].checked,
		follow[0].held, follow[0].checked)
	interp("summary")

	p("## Setup\n\n")
	p("- Machine: %s.\n", strings.Join(res.machines(), "; "))
	p("- Sources: ")
	var srcs []string
	for _, k := range slices.Sorted(mapKeys(o.Sources)) {
		srcs = append(srcs, fmt.Sprintf("%s = `%s` (checksum %s)", k, o.Sources[k], res.sourceChecksum(k)))
	}
	p("%s.\n", strings.Join(srcs, ", "))
	if bs := res.budgets(); len(bs) > 1 {
		p("- **Warning**: the runs were made with %d different budgets; the numbers below mix them.\n", len(bs))
	}
	if b := res.budget(); b != nil {
		p("- Budget of every run: %d iterations (each 5 critic steps and a generator step) of batch %d at learning rate %g, Adam (0, 0.9);\n", b.Iterations, b.BatchSize, b.LR)
		p("  FID and KID every %d iterations from %d generated images against the held-out images; KID over %d subsets of %d;\n", b.EvalEvery, b.Samples, b.KIDSubsets, b.KIDSubsetSize)
		p("  IW at the end, its critic trained for %d steps.\n", b.IWSteps)
	}
	p("- Data: targets are class-balanced subsets of the shipped Fashion-MNIST (5,000) and MNIST (2,000) training parts and of\n")
	p("  letters rendered from the Go fonts (package data/letters, BSD 3-clause), the same subset for every seed. Each target has\n")
	p("  1,000 held-out images never trained on (the shipped test-set parts; letters rendered with another seed): FID and KID\n")
	p("  use all of them; IW's critic trains on one half and is evaluated on the other.\n")
	p("- Seeds: each cell is the mean ± standard deviation over its seeds; \"(n=…)\" marks cells with fewer than 3.\n\n")

	for _, t := range tables {
		if err := res.writeTable(&w, t, o, rel); err != nil {
			return err
		}
		interp("table" + t.Key)
	}
	if err := os.MkdirAll(filepath.Dir(o.Doc), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.Doc, []byte(w.String()), 0o644)
}

func r2s(v Verdict) string {
	switch {
	case !v.OK:
		return "not run"
	case v.Holds:
		return "yes"
	}
	return "no"
}

func seedsOf(t Table, override int) int {
	if override > 0 {
		return override
	}
	return t.Seeds
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (res *Results) writeTable(w *strings.Builder, t Table, o ReportOptions, rel string) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	seeds := seedsOf(t, o.Seeds)
	specs := t.Specs(seeds)
	p("## %s\n\n", t.Title)
	p("Command: `%s`\n\n", strings.Join(append([]string{o.Command, "-table", t.Key, "-out", filepath.ToSlash(res.Out)}, res.flags(o)...), " "))
	var secs float64
	done := 0
	for _, s := range specs {
		if oc, ok := res.Outcomes[s.ID()]; ok {
			secs += oc.Seconds
			done++
		}
	}
	if t.Rank {
		for _, rk := range res.Rankings {
			secs += rk.Seconds
		}
	}
	p("Time: %s of computation over %d of its %d runs (%s; runs shared with other tables counted here too)", dur(secs), done, len(specs), plural(seeds, "seed"))
	var wall float64
	for _, tm := range res.Timings {
		if tm.Table == t.Key {
			wall += tm.Seconds
		}
	}
	if wall > 0 {
		p("; the table's commands took %s of wall time", dur(wall))
	}
	p(".\n\n**The paper's finding.** %s\n\n", t.Finding)

	if t.Rank {
		res.writeRanking(w, seeds)
	} else {
		for _, m := range reportMetrics {
			for _, g := range t.Grids {
				p("%s", m.Name)
				if g.Name != "" {
					p(", %s", g.Name)
				}
				p(":\n\n| |")
				for _, c := range g.Grid.Cols {
					p(" %s |", c)
				}
				p("\n|---|%s\n", strings.Repeat("---|", len(g.Grid.Cols)))
				for r, row := range g.Grid.Rows {
					p("| %s |", row)
					for c := range g.Grid.Cols {
						s, ok := g.Grid.Cell(r, c)
						if !ok {
							p(" |")
							continue
						}
						st := res.Stat(s, seeds, m)
						p(" %s%s |", st.format(m.Prec), res.flag(s, seeds))
					}
					p("\n")
				}
				p("\n")
			}
		}
		if res.anyDiverged(specs) {
			p("\"diverged\" marks cells with a run whose loss stopped being finite; its numbers are those before.\n\n")
		}
	}
	if len(t.Claims) > 0 {
		p("**Automatic check** (on the means above):\n\n| claim | FID | KID | IW |\n| --- | --- | --- | --- |\n")
		for _, c := range t.Claims {
			p("| %s |", c.Text)
			for _, m := range reportMetrics {
				p(" %s |", res.Check(c, seeds, m))
			}
			p("\n")
		}
		p("\n")
	}
	if t.Rank {
		return nil
	}
	figs, err := res.figures(t, seeds, o.Figures)
	if err != nil {
		return err
	}
	for _, f := range figs {
		p("![%s](%s)\n", f.alt, filepath.ToSlash(filepath.Join(rel, f.file)))
	}
	p("\n")
	return nil
}

func (res *Results) flag(s Spec, seeds int) string {
	for _, o := range res.runs(s, seeds) {
		if o.Status == "diverged" {
			return " diverged"
		}
	}
	return ""
}

func (res *Results) anyDiverged(specs []Spec) bool {
	for _, s := range specs {
		if o, ok := res.Outcomes[s.ID()]; ok && o.Status == "diverged" {
			return true
		}
	}
	return false
}

// writeRanking writes, per target and seed, RankSources' order next to the
// order of the fine-tuned FIDs and their Spearman correlation.
func (res *Results) writeRanking(w *strings.Builder, seeds int) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("| target | seed | RankSources (FID of source samples vs target, best first) | fine-tuned FID (Table 4), best first | Spearman |\n| --- | --- | --- | --- | --- |\n")
	for _, tgt := range rankTargets {
		for seed := 1; seed <= seeds; seed++ {
			rk := res.Rankings[filepath.Base(RankFile("", tgt, uint64(seed)))]
			if rk == nil {
				p("| %s | %d | not run | | |\n", targetNames[tgt], seed)
				continue
			}
			var est []string
			var x, y []float64
			var fine []string
			for _, c := range rk.Ranking {
				est = append(est, fmt.Sprintf("%s %.1f", c.Name, c.FID.Value))
			}
			type ft struct {
				name string
				v    float64
			}
			var fts []ft
			for _, c := range rk.Ranking {
				if o, ok := res.Outcomes[fineTuned(c.Name, tgt).withSeed(uint64(seed)).ID()]; ok && o.FID != nil {
					x = append(x, c.FID.Value)
					y = append(y, o.FID.Value)
					fts = append(fts, ft{c.Name, o.FID.Value})
				}
			}
			slices.SortFunc(fts, func(a, b ft) int { return cmpF(a.v, b.v) })
			for _, f := range fts {
				fine = append(fine, fmt.Sprintf("%s %.1f", f.name, f.v))
			}
			rho := "—"
			if len(x) >= 2 {
				rho = fmt.Sprintf("%.2f", Spearman(x, y))
			}
			p("| %s | %d | %s | %s | %s |\n", targetNames[tgt], seed, strings.Join(est, ", "), strings.Join(fine, ", "), rho)
		}
	}
	p("\n")
	p("**Automatic check**: per target, the mean Spearman over seeds is positive:\n\n")
	for _, tgt := range rankTargets {
		p("- %s: %s\n", targetNames[tgt], res.rankVerdict(tgt, seeds))
	}
	p("\n")
}

// rankVerdict checks that the mean over seeds of the Spearman correlation
// between the ranking and the fine-tuned FIDs of a target is positive.
func (res *Results) rankVerdict(tgt string, seeds int) Verdict {
	var rhos []float64
	for seed := 1; seed <= seeds; seed++ {
		rk := res.Rankings[filepath.Base(RankFile("", tgt, uint64(seed)))]
		if rk == nil {
			continue
		}
		var x, y []float64
		for _, c := range rk.Ranking {
			if o, ok := res.Outcomes[fineTuned(c.Name, tgt).withSeed(uint64(seed)).ID()]; ok && o.FID != nil {
				x = append(x, c.FID.Value)
				y = append(y, o.FID.Value)
			}
		}
		if len(x) == len(rankCandidates) {
			rhos = append(rhos, Spearman(x, y))
		}
	}
	if len(rhos) == 0 {
		return Verdict{}
	}
	return Verdict{Holds: stat(rhos).Mean > 0, OK: true}
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Spearman returns the rank correlation of x and y (ties get their mean
// rank): the Pearson correlation of the ranks, NaN when either is constant.
func Spearman(x, y []float64) float64 {
	rx, ry := ranks(x), ranks(y)
	mx, my := stat(rx).Mean, stat(ry).Mean
	var sxy, sxx, syy float64
	for i := range rx {
		sxy += (rx[i] - mx) * (ry[i] - my)
		sxx += (rx[i] - mx) * (rx[i] - mx)
		syy += (ry[i] - my) * (ry[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpF(v[a], v[b]) })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// machines returns the machines the runs were trained on (Machine: the
// processor and the threads used), each with its number of runs when there
// are several.
func (res *Results) machines() []string {
	count := map[string]int{}
	var out []string
	for _, id := range slices.Sorted(mapKeys(res.Outcomes)) {
		m := threadsLabel(res.Outcomes[id].Machine)
		if count[m] == 0 {
			out = append(out, m)
		}
		count[m]++
	}
	if len(out) == 0 {
		return []string{"no finished run"}
	}
	if len(out) > 1 {
		for i, m := range out {
			out[i] = fmt.Sprintf("%s (%s)", m, plural(count[m], "run"))
		}
	}
	return out
}

// threadsLabel rewrites the "N CPUs" of a Machine string, the threads Go
// used (GOMAXPROCS), as "N threads".
func threadsLabel(m string) string {
	i := strings.LastIndex(m, ", ")
	var n int
	if i < 0 {
		return m
	}
	if _, err := fmt.Sscanf(m[i+2:], "%d CPUs", &n); err != nil {
		return m
	}
	return m[:i] + ", " + plural(n, "thread")
}

func (res *Results) sourceChecksum(name string) string {
	for _, id := range slices.Sorted(mapKeys(res.Outcomes)) {
		o := res.Outcomes[id]
		if o.Spec.Source == name && o.Source != "" {
			if len(o.Source) > 12 {
				return o.Source[:12] + "…"
			}
			return o.Source
		}
	}
	return "unknown"
}

func (res *Results) budget() *Budget {
	for _, id := range slices.Sorted(mapKeys(res.Outcomes)) {
		b := res.Outcomes[id].Budget
		return &b
	}
	return nil
}

func dur(secs float64) string {
	return (time.Duration(secs) * time.Second).Round(time.Second).String()
}

// flags returns the flags of the runs' commands beside -table and -out: the
// budget's when it is not the plan, then the sources and seeds.
func (res *Results) flags(o ReportOptions) []string {
	var f []string
	if b := res.budget(); b != nil {
		f = budgetArgs(*b)
	}
	return append(f, o.Flags...)
}

// budgets returns the distinct budgets of the finished runs.
func (res *Results) budgets() []Budget {
	var out []Budget
	for _, o := range res.Outcomes {
		if !slices.Contains(out, o.Budget) {
			out = append(out, o.Budget)
		}
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
