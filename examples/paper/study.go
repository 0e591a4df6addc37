package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/transfer"
)

// Spec is one fine-tuning run of the study. Runs with the same Spec are the
// same run, whichever table asks for them: Table 1's "both" cell is Table 4's
// MNIST → Fashion-MNIST cell and Table 2's pretrained 1,000-image cell.
type Spec struct {
	// Source names the source model ("mnist" or "fashion"). A run from
	// scratch uses only the source's architecture; its Source is always
	// "mnist", so every scratch run of a target is one run.
	Source string        `json:"source"`
	Init   transfer.Init `json:"init"`
	// Target is "fashion", "mnist" or "letters"; N the number of its
	// training images.
	Target string `json:"target"`
	N      int    `json:"n"`
	// Cond makes the target model an AC-GAN over the target's classes.
	Cond bool `json:"cond,omitempty"`
	// Policy is a follow-up method added to plain fine-tuning (see
	// policies), "" for none.
	Policy string `json:"policy,omitempty"`
	Seed   uint64 `json:"seed"`
}

// scratchSource is the source whose architecture runs from scratch use.
const scratchSource = "mnist"

// norm returns s with the fields that do not change the run made canonical.
func (s Spec) norm() Spec {
	if s.Init == "" {
		s.Init = transfer.InitBoth
	}
	if s.Init == transfer.InitScratch {
		s.Source = scratchSource
	}
	return s
}

// Cell is the run's ID without the seed: the runs of a cell differ only by
// seed, and a table reports their mean and spread.
func (s Spec) Cell() string {
	s = s.norm()
	var b strings.Builder
	if s.Init == transfer.InitScratch {
		b.WriteString("scratch")
	} else {
		b.WriteString(s.Source)
	}
	fmt.Fprintf(&b, "-%s%d", s.Target, s.N)
	if s.Init == transfer.InitD || s.Init == transfer.InitG {
		b.WriteString("-init" + string(s.Init))
	}
	if s.Cond {
		b.WriteString("-cond")
	}
	if s.Policy != "" {
		b.WriteString("-" + s.Policy)
	}
	return b.String()
}

// ID names the run and its folder: "mnist-fashion1000-s1",
// "scratch-letters1000-s2", "mnist-fashion100-ewc-s1".
func (s Spec) ID() string { return fmt.Sprintf("%s-s%d", s.Cell(), s.Seed) }

// withSeed returns s for another seed.
func (s Spec) withSeed(seed uint64) Spec { s.Seed = seed; return s }

// policies are the follow-up methods of the policy table, each added to
// plain fine-tuning with the values their papers use (see README.md).
var policies = []struct {
	Name, Short, Label string
	Apply              func(*transfer.Options)
}{
	{"freezed", "FreezeD", "FreezeD (input layer and 2 of 4 critic blocks)", func(o *transfer.Options) { o.FreezeD = 2 }},
	{"normonly", "norm-only", "norm-only (G's norm scales and offsets)", func(o *transfer.Options) { o.NormOnly = true }},
	{"l2sp", "L2-SP", "L2-SP (α = 0.1)", func(o *transfer.Options) { o.L2SP = 0.1 }},
	{"ewc", "EWC", "EWC (λ = 5e8)", func(o *transfer.Options) { o.EWC = 5e8 }},
	{"diffaug", "DiffAugment", "DiffAugment (color, translation, cutout)", func(o *transfer.Options) { o.DiffAugment = "color,translation,cutout" }},
	{"ada", "ADA", "ADA (target 0.6)", func(o *transfer.Options) { o.ADA = true }},
}

func policy(name string) (func(*transfer.Options), bool) {
	for _, p := range policies {
		if p.Name == name {
			return p.Apply, true
		}
	}
	return nil, false
}

// Grid is a table's layout: rows × columns of cells (seed 0), each cell
// reported as the mean and spread of its runs over the table's seeds.
type Grid struct {
	Rows, Cols []string
	// Cell returns the run of a row and column; ok false leaves it empty.
	Cell func(row, col int) (Spec, bool)
}

// Table is one of the study's tables: its runs, layout and the paper's
// finding with the claims checked automatically.
type Table struct {
	Key     string // the -table flag: "1", "2", "4", "cond", "policies", "rank"
	Title   string
	Finding string // the paper's finding, in words
	Seeds   int    // seeds per cell in the plan
	Grids   []NamedGrid
	Claims  []Claim
	// Rank marks the source-ranking table, which adds RankSources' scores
	// to Table 4's runs.
	Rank bool
}

// NamedGrid is a grid with a caption (Table 4 has one per target).
type NamedGrid struct {
	Name string
	Grid Grid
}

// Specs returns the table's runs for seeds 1..seeds, each once, in order.
func (t Table) Specs(seeds int) []Spec {
	var out []Spec
	seen := map[string]bool{}
	for seed := 1; seed <= seeds; seed++ {
		for _, g := range t.Grids {
			for r := range g.Grid.Rows {
				for c := range g.Grid.Cols {
					s, ok := g.Grid.Cell(r, c)
					if !ok {
						continue
					}
					s = s.norm().withSeed(uint64(seed))
					if !seen[s.ID()] {
						seen[s.ID()] = true
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

// The study's targets and their training-set sizes.
const (
	small  = 100
	medium = 1000
	large  = 5000
)

func both(src, tgt string, n int) Spec {
	return Spec{Source: src, Init: transfer.InitBoth, Target: tgt, N: n}
}

func scratch(tgt string, n int) Spec {
	return Spec{Source: scratchSource, Init: transfer.InitScratch, Target: tgt, N: n}
}

var targetNames = map[string]string{"fashion": "Fashion-MNIST", "mnist": "MNIST", "letters": "Go-font letters"}

// Tables returns the study's tables in order.
func Tables() []Table {
	inits := []transfer.Init{transfer.InitScratch, transfer.InitD, transfer.InitG, transfer.InitBoth}
	t1 := Table{
		Key: "1", Title: "Table 1: which networks to initialise from the source (MNIST → Fashion-MNIST, 1,000 images)",
		Finding: "Pretraining both networks is best; pretraining only the critic helps; pretraining only the generator " +
			"is worst, worse than scratch (paper: FID 24.35 < 30.57 < 32.87 < 56.16).",
		Seeds: 3,
		Grids: []NamedGrid{{Grid: Grid{
			Rows: []string{"MNIST → Fashion-MNIST 1K"},
			Cols: []string{"G scratch, D scratch", "G scratch, D pretrained", "G pretrained, D scratch", "G pretrained, D pretrained"},
			Cell: func(_, c int) (Spec, bool) {
				s := both("mnist", "fashion", medium)
				s.Init = inits[c]
				return s, true
			},
		}}},
	}
	t1.Claims = []Claim{
		order("both networks pretrained is best", t1cell(transfer.InitBoth), t1cell(transfer.InitD), t1cell(transfer.InitScratch), t1cell(transfer.InitG)),
		order("only G pretrained is worse than scratch", t1cell(transfer.InitScratch), t1cell(transfer.InitG)),
		chain("full order: both < D only < scratch < G only", t1cell(transfer.InitBoth), t1cell(transfer.InitD), t1cell(transfer.InitScratch), t1cell(transfer.InitG)),
	}

	sizes := []int{small, medium, large}
	sizeNames := []string{"100", "1,000", "5,000"}
	t2 := Table{
		Key: "2", Title: "Table 2: size of the target set (MNIST → Fashion-MNIST)",
		Finding: "Pretraining helps at every size, and its gain grows as the target shrinks " +
			"(paper: FID gain 162.7 at 1K, 11.7 at 5K, 8.5 at 100K images).",
		Seeds: 3,
		Grids: []NamedGrid{{Grid: Grid{
			Rows: []string{"from scratch", "pretrained (MNIST)"},
			Cols: []string{sizeNames[0] + " images", sizeNames[1] + " images", sizeNames[2] + " images"},
			Cell: func(r, c int) (Spec, bool) {
				if r == 0 {
					return scratch("fashion", sizes[c]), true
				}
				return both("mnist", "fashion", sizes[c]), true
			},
		}}},
	}
	for i, n := range sizes {
		t2.Claims = append(t2.Claims, order("pretrained beats scratch at "+sizeNames[i]+" images", both("mnist", "fashion", n), scratch("fashion", n)))
	}
	t2.Claims = append(t2.Claims, gainGrows("the gain of pretraining grows as the target shrinks (100 > 1,000 > 5,000)",
		[]Spec{both("mnist", "fashion", small), both("mnist", "fashion", medium), both("mnist", "fashion", large)},
		[]Spec{scratch("fashion", small), scratch("fashion", medium), scratch("fashion", large)}))

	targets := []string{"fashion", "mnist", "letters"}
	srcCols := []string{"scratch", "MNIST source", "Fashion-MNIST source"}
	t4cell := func(tgt string, c int) Spec {
		switch c {
		case 0:
			return scratch(tgt, medium)
		case 1:
			return both("mnist", tgt, medium)
		}
		return both("fashion", tgt, medium)
	}
	t4 := Table{
		Key: "4", Title: "Table 4: sources × targets (1,000 target images each)",
		Finding: "Pretraining beats scratch in every cell; which source is best depends on the target " +
			"(paper: the dense one-class Bedrooms source is best or second best nearly everywhere).",
		Seeds: 1,
		Grids: []NamedGrid{{Grid: Grid{
			Rows: []string{"Fashion-MNIST 1K", "MNIST 1K", "Go-font letters 1K (seen by neither source)"},
			Cols: srcCols,
			Cell: func(r, c int) (Spec, bool) { return t4cell(targets[r], c), true },
		}}},
	}
	for _, tgt := range targets {
		t4.Claims = append(t4.Claims, order("pretraining beats scratch on "+targetNames[tgt], t4cell(tgt, 1), t4cell(tgt, 0)),
			order("", t4cell(tgt, 2), t4cell(tgt, 0)))
	}
	t4.Claims = mergeClaims(t4.Claims)

	condCell := func(r, c int) (Spec, bool) {
		s := both("mnist", "fashion", medium)
		if c == 0 {
			s = scratch("fashion", medium)
		}
		s.Cond = r == 1
		return s, true
	}
	tc := Table{
		Key: "cond", Title: "Conditional transfer (paper §5): MNIST (unconditional) → Fashion-MNIST 1K with its 10 classes",
		Finding: "Pretraining helps the conditional GAN as it helps the unconditional one, early and at the end; " +
			"the AC-GAN is slightly better than the unconditional GAN (paper Fig. 1b: 42.8 vs 43.7 pretrained, 49.6 vs 51.3 scratch).",
		Seeds: 2,
		Grids: []NamedGrid{{Grid: Grid{
			Rows: []string{"unconditional", "conditional (AC-GAN, cond. batch norm)"},
			Cols: []string{"from scratch", "pretrained (MNIST)"},
			Cell: condCell,
		}}},
	}
	cc := func(r, c int) Spec { s, _ := condCell(r, c); return s }
	tc.Claims = []Claim{
		order("pretrained beats scratch, conditional", cc(1, 1), cc(1, 0)),
		order("pretrained beats scratch, unconditional", cc(0, 1), cc(0, 0)),
		order("conditional pretrained beats unconditional pretrained", cc(1, 1), cc(0, 1)),
	}

	plain := both("mnist", "fashion", small)
	rows := []string{"plain fine-tuning"}
	for _, p := range policies {
		rows = append(rows, p.Label)
	}
	tp := Table{
		Key: "policies", Title: "Follow-up policies on the smallest target (MNIST → Fashion-MNIST, 100 images)",
		Finding: "Not in the paper: each follow-up method claims to improve on plain fine-tuning when data is scarce.",
		Seeds:   1,
		Grids: []NamedGrid{{Grid: Grid{
			Rows: rows, Cols: []string{"MNIST → Fashion-MNIST 100"},
			Cell: func(r, _ int) (Spec, bool) {
				s := plain
				if r > 0 {
					s.Policy = policies[r-1].Name
				}
				return s, true
			},
		}}},
	}
	for _, p := range policies {
		s := plain
		s.Policy = p.Name
		tp.Claims = append(tp.Claims, order(p.Short+" beats plain fine-tuning", s, plain))
	}

	tr := Table{
		Key: "rank", Title: "Source ranking (paper §4.5): does FID between a source's samples and the target predict the fine-tuned FID?",
		Finding: "A rough indicator that works per target: Spearman between the estimate and the fine-tuned FID of 0.8, 0.8, 0.8 " +
			"and −0.4 over four targets (computed by a third party from the paper's Tables 4 and 5).",
		Seeds: t4.Seeds, Grids: t4.Grids, Rank: true,
	}
	return []Table{t1, t2, t4, tc, tp, tr}
}

func t1cell(i transfer.Init) Spec {
	s := both("mnist", "fashion", medium)
	s.Init = i
	return s
}

// TableByKey returns the table with the given key.
func TableByKey(key string) (Table, bool) {
	i := slices.IndexFunc(Tables(), func(t Table) bool { return t.Key == key })
	if i < 0 {
		return Table{}, false
	}
	return Tables()[i], true
}

// rankCandidates are the candidates RankSources scores for each target:
// both sources and the untrained network a scratch run starts from.
var rankCandidates = []string{"scratch", "mnist", "fashion"}

// rankTargets are the targets of the ranking table, in Table 4's order.
var rankTargets = []string{"fashion", "mnist", "letters"}

// fineTuned returns the run whose fine-tuned FID a ranking candidate is
// compared with.
func fineTuned(candidate, target string) Spec {
	if candidate == "scratch" {
		return scratch(target, medium)
	}
	return both(candidate, target, medium)
}
