package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/letters"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/transfer"
)

// Budget sizes every run of the study. Plan is the committed one; the test
// uses a tiny one.
type Budget struct {
	Iterations int     `json:"iterations"` // generator steps per run
	BatchSize  int     `json:"batch_size"`
	LR         float64 `json:"lr"`
	EvalEvery  int     `json:"eval_every"` // iterations between FID/KID evaluations
	Samples    int     `json:"samples"`    // generated images per evaluation and per ranking
	// EvalReal caps the held-out images used (0: all 1,000 of each set);
	// half of them train IW's critic, the other half evaluate it.
	EvalReal      int `json:"eval_real,omitempty"`
	IWSteps       int `json:"iw_steps"` // updates of IW's critic
	GridSize      int `json:"grid_size"`
	KIDSubsets    int `json:"kid_subsets"`
	KIDSubsetSize int `json:"kid_subset_size"`
}

// Plan is the study's budget: see README.md for how it fits in about three
// hours of a 2-core machine.
var Plan = Budget{
	Iterations: 180, BatchSize: 16, LR: 1e-4, EvalEvery: 45, Samples: 1000,
	IWSteps: 150, GridSize: 16, KIDSubsets: 100, KIDSubsetSize: 500,
}

// Seeds fixing what is not the run's own seed.
const (
	dataSeed = 2018 // the target subsets, the same for every run
	iwSeed   = 2019 // the split of the held-out images between IW's critic and its evaluation
)

// Study runs the study's tables into one folder of run folders.
type Study struct {
	Out    string
	Budget Budget
	// Seeds, when positive, replaces each table's number of seeds.
	Seeds int
	// Sources maps "mnist" and "fashion" to a model: "shipped:NAME" or the
	// path of a file gan.Load reads.
	Sources map[string]string
	Log     io.Writer

	models map[string]*gan.Model
	sets   map[string]data.Dataset
}

// OutcomeFile is the file a finished run writes in its folder; a run that
// has one is skipped.
const OutcomeFile = "outcome.json"

// Outcome is what a finished run measured.
type Outcome struct {
	ID     string `json:"id"`
	Spec   Spec   `json:"spec"`
	Budget Budget `json:"budget"`
	// Status is "done" or "diverged" (a loss stopped being finite; Error
	// says where, and the metrics are those before).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Iteration is the number of iterations trained.
	Iteration int `json:"iteration"`
	// FID and KID are the last evaluation's, on every held-out image; IW
	// is measured once at the end, its critic trained on one half of them
	// and evaluated on the other.
	FID   *metrics.Result `json:"fid,omitempty"`
	KID   *metrics.Result `json:"kid,omitempty"`
	IW    *metrics.Result `json:"iw,omitempty"`
	Curve []Point         `json:"curve"`
	// Seconds is the run's wall time over all processes that worked on it
	// (training, evaluations and IW); SecPerIter the training's.
	Seconds    float64 `json:"seconds"`
	SecPerIter float64 `json:"sec_per_iter"`
	Source     string  `json:"source_checksum"`
	Machine    string  `json:"machine"`
	Finished   string  `json:"finished"`
}

// Point is one evaluation during training.
type Point struct {
	Iteration int     `json:"iteration"`
	FID       float64 `json:"fid"`
	KID       float64 `json:"kid"`
}

func (s *Study) logf(format string, a ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", a...)
	}
}

// source returns the named source model, loaded once; FineTune and
// RankSources never change it.
func (s *Study) source(name string) (*gan.Model, error) {
	if m, ok := s.models[name]; ok {
		return m, nil
	}
	ref, ok := s.Sources[name]
	if !ok {
		return nil, fmt.Errorf("no source model %q given", name)
	}
	var m *gan.Model
	var err error
	if strings.HasPrefix(ref, sources.Prefix) {
		m, err = sources.Open(ref)
	} else {
		m, err = gan.Load(ref)
	}
	if err != nil {
		return nil, fmt.Errorf("source %s (%s): %w", name, ref, err)
	}
	if s.models == nil {
		s.models = map[string]*gan.Model{}
	}
	s.models[name] = m
	return m, nil
}

// resolution is the side of the images: that of the MNIST source.
func (s *Study) resolution() (int, error) {
	m, err := s.source(scratchSource)
	if err != nil {
		return 0, err
	}
	return m.Config.Resolution, nil
}

// set returns a named dataset at the sources' resolution: "fashion",
// "mnist" and "letters" are the training sets, with "-eval" the held-out
// ones; each is loaded once.
func (s *Study) set(name string) (data.Dataset, error) {
	if ds, ok := s.sets[name]; ok {
		return ds, nil
	}
	res, err := s.resolution()
	if err != nil {
		return nil, err
	}
	load := map[string]func(...data.Option) (*data.Memory, error){
		"fashion": shipped.FashionMNIST, "fashion-eval": shipped.FashionMNISTEval,
		"mnist": shipped.MNIST, "mnist-eval": shipped.MNISTEval,
		"letters": letters.Train, "letters-eval": letters.Eval,
	}[name]
	if load == nil {
		return nil, fmt.Errorf("unknown data set %q", name)
	}
	ds, err := load(data.Resolution(res))
	if err != nil {
		return nil, err
	}
	if s.sets == nil {
		s.sets = map[string]data.Dataset{}
	}
	s.sets[name] = ds
	return ds, nil
}

// target returns n class-balanced images of a target's training set, the
// same n for every run (dataSeed).
func (s *Study) target(name string, n int) (data.Dataset, error) {
	ds, err := s.set(name)
	if err != nil {
		return nil, err
	}
	if n == ds.Len() {
		return ds, nil
	}
	return data.BalancedSubset(ds, n, rand.New(rand.NewPCG(dataSeed, uint64(n))))
}

// heldOut returns a target's held-out images (capped at Budget.EvalReal):
// all of them for FID and KID, and two disjoint halves for IW's critic
// (training, evaluation).
func (s *Study) heldOut(name string) (all, iwTrain, iwEval data.Dataset, err error) {
	ds, err := s.set(name + "-eval")
	if err != nil {
		return nil, nil, nil, err
	}
	if n := s.Budget.EvalReal; n > 0 && n < ds.Len() {
		ds = data.Subset(ds, n, rand.New(rand.NewPCG(dataSeed, 1)))
	}
	tr, ev := data.Split(ds, ds.Len()/2, rand.New(rand.NewPCG(iwSeed, 0)))
	return ds, tr, ev, nil
}

// Options returns the transfer options of a run (without Dir and Eval).
func (s *Study) Options(sp Spec) (transfer.Options, error) {
	b := s.Budget
	o := transfer.Options{
		Init: sp.Init, Iterations: b.Iterations, BatchSize: b.BatchSize, LR: b.LR, Seed: sp.Seed,
		GridSize: b.GridSize, CheckpointEvery: max(b.Iterations/4, 1), LogEvery: max(min(10, b.Iterations/10), 1),
	}
	if sp.Cond {
		ds, err := s.set(sp.Target)
		if err != nil {
			return o, err
		}
		o.Classes = len(data.Classes(ds))
	}
	if sp.Policy != "" {
		apply, ok := policy(sp.Policy)
		if !ok {
			return o, fmt.Errorf("unknown policy %q", sp.Policy)
		}
		apply(&o)
	}
	return o, nil
}

// ReadOutcome reads a run's outcome; it returns an error wrapping
// fs.ErrNotExist when the run has not finished.
func ReadOutcome(dir string) (*Outcome, error) {
	b, err := os.ReadFile(filepath.Join(dir, OutcomeFile))
	if err != nil {
		return nil, err
	}
	var o Outcome
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OutcomeFile), err)
	}
	return &o, nil
}

// partialFile keeps the seconds spent on a run by processes that stopped
// before it finished.
const partialFile = "study-seconds.json"

// Run trains, evaluates and records one run, or skips it when its outcome
// exists. An unfinished run continues from its latest checkpoint. It
// returns the outcome and whether it was skipped.
func (s *Study) Run(ctx context.Context, sp Spec) (*Outcome, bool, error) {
	sp = sp.norm()
	dir := filepath.Join(s.Out, sp.ID())
	if o, err := ReadOutcome(dir); err == nil {
		if o.Budget != s.Budget {
			return nil, false, fmt.Errorf("%s was run with another budget (%+v); use another -out", dir, o.Budget)
		}
		return o, true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	start := time.Now()
	var before float64
	if b, err := os.ReadFile(filepath.Join(dir, partialFile)); err == nil {
		_ = json.Unmarshal(b, &before)
	}
	spent := func() float64 { return before + time.Since(start).Seconds() }

	src, err := s.source(sp.Source)
	if err != nil {
		return nil, false, err
	}
	tgt, err := s.target(sp.Target, sp.N)
	if err != nil {
		return nil, false, err
	}
	all, iwTrain, iwEval, err := s.heldOut(sp.Target)
	if err != nil {
		return nil, false, err
	}
	o, err := s.Options(sp)
	if err != nil {
		return nil, false, err
	}
	o.Dir, o.Resume = dir, true
	o.Eval = &gan.Eval{
		Every: s.Budget.EvalEvery, Real: all, Samples: s.Budget.Samples, Metrics: []string{"fid", "kid"},
		KID: metrics.KIDOptions{Subsets: s.Budget.KIDSubsets, SubsetSize: s.Budget.KIDSubsetSize},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	s.logf("run %s: %d iterations", sp.ID(), o.Iterations)
	res, err := transfer.FineTune(ctx, src, tgt, o)
	out := &Outcome{ID: sp.ID(), Spec: sp, Budget: s.Budget, Status: "done", Machine: Machine()}
	var nan *gan.NaNError
	switch {
	case errors.As(err, &nan):
		out.Status, out.Error = "diverged", err.Error()
	case errors.Is(err, gan.ErrRunInUse):
		return nil, false, fmt.Errorf("run %s: %w", sp.ID(), err)
	case err != nil:
		if b, jerr := json.Marshal(spent()); jerr == nil {
			_ = os.WriteFile(filepath.Join(dir, partialFile), b, 0o644)
		}
		return nil, false, fmt.Errorf("run %s: %w", sp.ID(), err)
	}
	if res != nil {
		out.Iteration = res.Report.Iteration
		out.SecPerIter = res.Report.SecPerIter
		out.Source = res.Report.Source
	}
	if out.Curve, out.FID, out.KID, err = readCurve(dir); err != nil {
		return nil, false, err
	}
	if out.Status == "done" {
		r := rand.New(rand.NewPCG(sp.Seed, iwSeed))
		iw, err := metrics.IW(res.Model.Sampler().Sample, iwTrain, iwEval, r, metrics.IWOptions{Steps: s.Budget.IWSteps})
		var iwErr *metrics.IWError
		switch {
		case errors.As(err, &iwErr):
			out.Error = "IW: " + err.Error()
		case err != nil:
			return nil, false, err
		default:
			out.IW = &iw
		}
	}
	out.Seconds = spent()
	out.Finished = time.Now().UTC().Format(time.RFC3339)
	if err := writeJSON(filepath.Join(dir, OutcomeFile), out); err != nil {
		return nil, false, err
	}
	s.logf("run %s: %s, FID %s, %.0f s", sp.ID(), out.Status, fmtResult(out.FID), out.Seconds)
	return out, false, nil
}

// readCurve reads the FID and KID evaluations of a run folder, over all the
// processes that trained it (an evaluation repeated at a resume counts
// once), and returns them with the last ones.
func readCurve(dir string) ([]Point, *metrics.Result, *metrics.Result, error) {
	recs, err := gan.ReadMetrics(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	byIt := map[int]*Point{}
	var its []int
	last := map[string]*metrics.Result{}
	for _, m := range []string{"fid", "kid"} {
		for _, l := range recs[m] {
			p := byIt[l.Iteration]
			if p == nil {
				p = &Point{Iteration: l.Iteration}
				byIt[l.Iteration] = p
				its = append(its, l.Iteration)
			}
			if m == "fid" {
				p.FID = l.Result.Value
			} else {
				p.KID = l.Result.Value
			}
			v := l.Result // records come in order: the last is the latest
			last[m] = &v
		}
	}
	slices.Sort(its)
	curve := make([]Point, 0, len(its))
	for _, it := range its {
		curve = append(curve, *byIt[it])
	}
	return curve, last["fid"], last["kid"], nil
}

// RankFile is where the ranking of the sources for a target is written.
func RankFile(out, target string, seed uint64) string {
	return filepath.Join(out, "rank", fmt.Sprintf("%s-s%d.json", target, seed))
}

// Ranking is RankSources' result for one target, as written to RankFile.
type Ranking struct {
	Target  string             `json:"target"`
	Seed    uint64             `json:"seed"`
	Ranking []transfer.Ranking `json:"ranking"`
	Seconds float64            `json:"seconds"`
}

// Rank scores the candidates for a target with RankSources, or reads the
// ranking already written.
func (s *Study) Rank(target string, seed uint64) (*Ranking, bool, error) {
	path := RankFile(s.Out, target, seed)
	if b, err := os.ReadFile(path); err == nil {
		var r Ranking
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return &r, true, nil
	}
	start := time.Now()
	var cands []transfer.Candidate
	for _, name := range rankCandidates {
		var m *gan.Model
		var err error
		if name == "scratch" {
			var src *gan.Model
			if src, err = s.source(scratchSource); err == nil {
				m, err = transfer.Target(src, transfer.Options{Init: transfer.InitScratch, Seed: seed})
			}
		} else {
			m, err = s.source(name)
		}
		if err != nil {
			return nil, false, err
		}
		cands = append(cands, transfer.Candidate{Name: name, Model: m})
	}
	tgt, err := s.target(target, medium)
	if err != nil {
		return nil, false, err
	}
	rk, err := transfer.RankSources(cands, tgt, transfer.RankOptions{
		Samples: s.Budget.Samples, Seed: seed,
		KID: metrics.KIDOptions{Subsets: s.Budget.KIDSubsets, SubsetSize: s.Budget.KIDSubsetSize},
	})
	if err != nil {
		return nil, false, err
	}
	r := &Ranking{Target: target, Seed: seed, Ranking: rk, Seconds: time.Since(start).Seconds()}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, err
	}
	return r, false, writeJSON(path, r)
}

// TimingFile collects one line per table command: when it ran, how long it
// took, and how many runs it trained and skipped.
const TimingFile = "timing.jsonl"

// Timing is a line of TimingFile.
type Timing struct {
	Table   string  `json:"table"`
	Started string  `json:"started"`
	Seconds float64 `json:"seconds"`
	Ran     int     `json:"ran"`
	Skipped int     `json:"skipped"`
	Machine string  `json:"machine"`
}

// busyPoll is how often RunTable looks again at a run that another process
// is training.
var busyPoll = 30 * time.Second

// RunTable runs every run of a table (and its rankings), skipping the
// finished ones, and appends a line to TimingFile.
func (s *Study) RunTable(ctx context.Context, t Table) (Timing, error) {
	start := time.Now()
	tm := Timing{Table: t.Key, Started: start.UTC().Format(time.RFC3339), Machine: Machine()}
	seeds := t.Seeds
	if s.Seeds > 0 {
		seeds = s.Seeds
	}
	specs := t.Specs(seeds)
	// try runs sp and counts it; it reports whether another process is
	// training it (two table commands at once, say).
	try := func(sp Spec) (bool, error) {
		_, skipped, err := s.Run(ctx, sp)
		switch {
		case errors.Is(err, gan.ErrRunInUse):
			return true, nil
		case err != nil:
			return false, err
		case skipped:
			tm.Skipped++
		default:
			tm.Ran++
		}
		return false, nil
	}
	// The runs in use wait until the others are done, then until the other
	// process finishes them (or stops, and this one takes them over).
	var busy []Spec
	for i, sp := range specs {
		s.logf("table %s: run %d of %d: %s", t.Key, i+1, len(specs), sp.ID())
		inUse, err := try(sp)
		if err != nil {
			return tm, err
		}
		if inUse {
			s.logf("run %s: another process is training it; back to it at the end", sp.ID())
			busy = append(busy, sp)
		}
	}
	for len(busy) > 0 {
		select {
		case <-ctx.Done():
			return tm, ctx.Err()
		case <-time.After(busyPoll):
		}
		left := busy[:0]
		for _, sp := range busy {
			inUse, err := try(sp)
			if err != nil {
				return tm, err
			}
			if inUse {
				left = append(left, sp)
			}
		}
		busy = left
	}
	if t.Rank {
		for seed := 1; seed <= seeds; seed++ {
			for _, tgt := range rankTargets {
				if _, skipped, err := s.Rank(tgt, uint64(seed)); err != nil {
					return tm, err
				} else if skipped {
					tm.Skipped++
				} else {
					tm.Ran++
				}
			}
		}
	}
	tm.Seconds = time.Since(start).Seconds()
	if err := os.MkdirAll(s.Out, 0o755); err != nil {
		return tm, err
	}
	f, err := os.OpenFile(filepath.Join(s.Out, TimingFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return tm, err
	}
	b, _ := json.Marshal(tm)
	_, err = f.Write(append(b, '\n'))
	return tm, errors.Join(err, f.Close())
}

// Machine describes the processor: the model name of /proc/cpuinfo with its
// family and model numbers, and the number of CPUs Go uses.
func Machine() string {
	name, family, model := runtime.GOARCH, "", ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case k == "model name" && name == runtime.GOARCH:
				name = v
			case k == "cpu family" && family == "":
				family = v
			case k == "model" && model == "":
				model = v
			}
		}
	}
	if family != "" {
		name += fmt.Sprintf(" (family %s model %s)", family, model)
	}
	return fmt.Sprintf("%s, %d CPUs", name, runtime.GOMAXPROCS(0))
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fmtResult(r *metrics.Result) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("%.2f", r.Value)
}
