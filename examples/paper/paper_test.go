package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/tensor"
	"github.com/gantry-go/gantry/transfer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinySources writes two untrained 16×16 models of width 4 in dir and
// returns the flags that make the study use them.
func tinySources(t *testing.T, dir string) []string {
	t.Helper()
	var flags []string
	for i, name := range []string{"mnist", "fashion"} {
		m, err := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 4, ZDim: 8}, rand.New(rand.NewPCG(uint64(i), 7)))
		require.NoError(t, err)
		p := filepath.Join(dir, name+".safetensors")
		require.NoError(t, gan.Save(p, m))
		flags = append(flags, "-"+name, p)
	}
	return flags
}

// tinyBudget is the budget of the end-to-end test: two iterations, one seed,
// a few evaluation images.
var tinyBudget = []string{
	"-seeds", "1", "-iterations", "2", "-eval-every", "1", "-samples", "16", "-eval-real", "40",
	"-iw-steps", "2", "-batch", "4", "-grid", "4", "-kid-subset", "10",
}

// TestStudyEndToEnd runs every table on a tiny budget, runs them again (all
// skipped), and writes the report.
func TestStudyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "runs")
	args := append(append(tinySources(t, dir), tinyBudget...), "-out", out)
	ctx := context.Background()

	var stdout bytes.Buffer
	require.NoError(t, run(ctx, append(args, "-table", "all"), &stdout, io.Discard))

	// Every run of every table finished once, shared runs included.
	ids := map[string]bool{}
	for _, tb := range Tables() {
		for _, sp := range tb.Specs(1) {
			ids[sp.ID()] = true
			o, err := ReadOutcome(filepath.Join(out, sp.ID()))
			require.NoError(t, err, sp.ID())
			assert.Equal(t, sp.ID(), o.ID)
			assert.Equal(t, 2, o.Iteration, sp.ID())
			if !assert.Equal(t, "done", o.Status, "%s: status (%s)", sp.ID(), o.Error) {
				continue
			}
			require.NotNil(t, o.FID, sp.ID())
			require.NotNil(t, o.KID, sp.ID())
			require.NotNil(t, o.IW, sp.ID())
			assert.Equal(t, 40, o.FID.N1, "FID uses every held-out image")
			assert.Equal(t, 20, o.IW.N1, "IW is evaluated on half of them")
			assert.Equal(t, []int{0, 1, 2}, iterations(o.Curve), sp.ID())
		}
	}
	assert.Len(t, ids, 23, "distinct runs over the six tables")
	for _, tgt := range rankTargets {
		_, err := os.Stat(RankFile(out, tgt, 1))
		assert.NoError(t, err)
	}
	log := stdout.String()
	assert.Contains(t, log, "table 1: 4 trained or ranked, 0 already done")
	assert.Contains(t, log, "table 2: 4 trained or ranked, 2 already done", "Table 2 reuses Table 1's 1,000-image cells")
	assert.Contains(t, log, "table rank: 3 trained or ranked, 9 already done")

	// The same command again trains nothing.
	stdout.Reset()
	require.NoError(t, run(ctx, append(args, "-table", "1,4"), &stdout, io.Discard))
	assert.Contains(t, stdout.String(), "table 1: 0 trained or ranked, 4 already done")
	assert.Contains(t, stdout.String(), "table 4: 0 trained or ranked, 9 already done")
	assert.NotContains(t, stdout.String(), "run mnist-fashion1000-s1: 2 iterations")

	// Another budget in the same folder is refused.
	err := run(ctx, append(args, "-table", "1", "-iterations", "3"), io.Discard, io.Discard)
	assert.ErrorContains(t, err, "another budget")

	// The report.
	doc := filepath.Join(dir, "docs", "REPRODUCTION.md")
	figs := filepath.Join(dir, "docs", "reproduction")
	rargs := append(args, "-report", "-doc", doc, "-figures", figs)
	require.NoError(t, run(ctx, rargs, io.Discard, io.Discard))
	b, err := os.ReadFile(doc)
	require.NoError(t, err)
	md := string(b)
	for _, want := range []string{
		"## Summary", "**Headline**: of the paper's findings checked, ", "## Setup", "## Table 1:", "## Table 2:", "## Table 4:", "## Conditional transfer", "## Follow-up policies", "## Source ranking",
		"| G scratch, D scratch | G scratch, D pretrained | G pretrained, D scratch | G pretrained, D pretrained |",
		"FID (gantry-gray, lower is better)", "KID (gantry-gray, lower is better)", "IW (higher is better)", "(n=1)",
		"Command: `go run ./examples/paper -table 1 -out ", "**Automatic check**", "Spearman",
		"<!-- BEGIN interpretation table1 -->", "reproduces", "AMD", "reproduction/table1-fid.png", "reproduction/table1-samples.png",
	} {
		if want == "AMD" {
			want = strings.SplitN(Machine(), " ", 2)[0]
		}
		assert.Contains(t, md, want)
	}
	assert.NotContains(t, md, "not run |", "every claim had its runs")
	for _, f := range []string{"table1-fid.png", "table1-kid.png", "table1-samples.png", "table4-3-samples.png", "tablepolicies-fid.png"} {
		st, err := os.Stat(filepath.Join(figs, f))
		if assert.NoError(t, err) {
			assert.Greater(t, st.Size(), int64(100), f)
		}
	}

	// Hand-written interpretation survives a regeneration.
	md = strings.Replace(md, interpPlaceholder+"<!-- END interpretation table1 -->", "At this scale, a person wrote.\n<!-- END interpretation table1 -->", 1)
	require.NoError(t, os.WriteFile(doc, []byte(md), 0o644))
	require.NoError(t, run(ctx, rargs, io.Discard, io.Discard))
	b, _ = os.ReadFile(doc)
	assert.Contains(t, string(b), "At this scale, a person wrote.\n<!-- END interpretation table1 -->")
}

func iterations(c []Point) []int {
	var its []int
	for _, p := range c {
		its = append(its, p.Iteration)
	}
	return its
}

// TestResume stops a run at once and continues it with the same command.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "runs")
	args := append(append(tinySources(t, dir), tinyBudget...), "-out", out, "-table", "policies")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, args, io.Discard, io.Discard)
	require.ErrorIs(t, err, context.Canceled)
	first := filepath.Join(out, both("mnist", "fashion", small).withSeed(1).ID())
	_, err = gan.LatestCheckpoint(first)
	require.NoError(t, err, "a stopped run leaves a checkpoint")
	_, err = ReadOutcome(first)
	require.Error(t, err, "and no outcome")

	require.NoError(t, run(context.Background(), args, io.Discard, io.Discard))
	o, err := ReadOutcome(first)
	require.NoError(t, err)
	assert.Equal(t, 2, o.Iteration)
	assert.Equal(t, []int{0, 1, 2}, iterations(o.Curve), "the evaluation repeated at the resume counts once")
}

// envHold makes the test binary a child that opens a trainer on the run
// folder it names, so that the folder is in use, and waits to be killed.
const envHold = "GANTRY_PAPER_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envHold); dir != "" {
		g, _ := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 4, ZDim: 8}, rand.New(rand.NewPCG(1, 1)))
		ds := data.FromTensor(tensor.New(4, 1, 16, 16), nil, nil)
		if _, err := gan.NewTrainer(g, ds, gan.Options{Iterations: 1, BatchSize: 4, Dir: dir, Resume: true}); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		select {}
	}
	os.Exit(m.Run())
}

// killOn is a log that kills a process when a line contains a string.
type killOn struct {
	bytes.Buffer
	what string
	p    *os.Process
}

func (k *killOn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(k.what)) {
		k.p.Kill()
	}
	return k.Buffer.Write(b)
}

// TestTableWaitsForRunInUse runs a table while another process is training
// one of its runs: the table trains the others, then waits, and takes the
// run over once that process is gone.
func TestTableWaitsForRunInUse(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
	default:
		t.Skipf("run folders are not locked on %s (gan.LockFile)", runtime.GOOS)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "runs")
	held := filepath.Join(out, scratch("fashion", medium).withSeed(1).ID())
	require.NoError(t, os.MkdirAll(held, 0o755))
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envHold+"="+held)
	pipe, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer func() { child.Process.Kill(); child.Wait() }()
	line, _ := bufio.NewReader(pipe).ReadString('\n')
	require.Equal(t, "holding", strings.TrimSpace(line))

	was := busyPoll
	busyPoll = 10 * time.Millisecond
	defer func() { busyPoll = was }()
	log := &killOn{what: "back to it at the end", p: child.Process}
	args := append(append(tinySources(t, dir), tinyBudget...), "-out", out, "-table", "1")
	require.NoError(t, run(context.Background(), args, log, io.Discard))
	assert.Contains(t, log.String(), "run scratch-fashion1000-s1: another process is training it; back to it at the end")
	assert.Contains(t, log.String(), "table 1: 4 trained or ranked, 0 already done")
	tb, _ := TableByKey("1")
	for _, sp := range tb.Specs(1) {
		o, err := ReadOutcome(filepath.Join(out, sp.ID()))
		require.NoError(t, err, sp.ID())
		assert.Equal(t, 2, o.Iteration, sp.ID())
	}
}

func TestSharedRuns(t *testing.T) {
	t1, _ := TableByKey("1")
	t2, _ := TableByKey("2")
	t4, _ := TableByKey("4")
	has := func(tb Table, id string) bool {
		for _, s := range tb.Specs(1) {
			if s.ID() == id {
				return true
			}
		}
		return false
	}
	for _, id := range []string{"mnist-fashion1000-s1", "scratch-fashion1000-s1"} {
		assert.True(t, has(t1, id) && has(t2, id) && has(t4, id), id)
	}
	// A scratch run is the same whichever source lends it the architecture.
	s := Spec{Source: "fashion", Init: transfer.InitScratch, Target: "letters", N: 1000, Seed: 2}
	assert.Equal(t, "scratch-letters1000-s2", s.norm().ID())
	assert.Equal(t, "mnist-fashion100-ewc-s1", Spec{Source: "mnist", Target: "fashion", N: 100, Policy: "ewc", Seed: 1}.ID())
	assert.Equal(t, "mnist-fashion1000-initg-cond-s3", Spec{Source: "mnist", Init: transfer.InitG, Target: "fashion", N: 1000, Cond: true, Seed: 3}.ID())
}

func TestSpearman(t *testing.T) {
	assert.InDelta(t, 1, Spearman([]float64{1, 2, 3}, []float64{10, 20, 30}), 1e-12)
	assert.InDelta(t, -1, Spearman([]float64{1, 2, 3}, []float64{3, 2, 1}), 1e-12)
	assert.InDelta(t, 0.5, Spearman([]float64{1, 2, 3}, []float64{1, 3, 2}), 1e-12)
	assert.InDelta(t, 0.8660254, Spearman([]float64{1, 2, 2}, []float64{1, 2, 3}), 1e-6, "ties take their mean rank")
	assert.True(t, math.IsNaN(Spearman([]float64{1, 1}, []float64{1, 2})))
}

func TestClaims(t *testing.T) {
	a, b, c := both("mnist", "fashion", 100), both("mnist", "fashion", 1000), both("mnist", "fashion", 5000)
	sa, sb, sc := scratch("fashion", 100), scratch("fashion", 1000), scratch("fashion", 5000)
	vals := map[string]float64{a.Cell(): 10, b.Cell(): 8, c.Cell(): 6, sa.Cell(): 40, sb.Cell(): 20, sc.Cell(): 9}
	mean := func(s Spec) (float64, bool) { v, ok := vals[s.Cell()]; return v, ok }
	check := func(c Claim) Verdict { h, ok := c.Check(mean); return Verdict{h, ok} }
	assert.Equal(t, Verdict{true, true}, check(order("", a, sa, sb)))
	assert.Equal(t, Verdict{false, true}, check(order("", sc, c)))
	assert.Equal(t, Verdict{true, true}, check(chain("", c, b, a, sa)))
	assert.Equal(t, Verdict{false, true}, check(chain("", a, b)))
	assert.Equal(t, Verdict{true, true}, check(gainGrows("", []Spec{a, b, c}, []Spec{sa, sb, sc})), "gains 30 > 12 > 3")
	vals[sc.Cell()] = 30
	assert.Equal(t, Verdict{false, true}, check(gainGrows("", []Spec{a, b, c}, []Spec{sa, sb, sc})), "gains 30 > 12 < 24")
	assert.Equal(t, Verdict{false, false}, check(order("", a, both("fashion", "mnist", 1000))), "a missing cell")
	m := mergeClaims([]Claim{order("x", a, sa), order("", b, c)})
	require.Len(t, m, 1)
	assert.Equal(t, Verdict{false, true}, check(m[0]))
}

func TestThreadsLabel(t *testing.T) {
	for in, want := range map[string]string{
		"AMD EPYC (family 25 model 1), 2 CPUs": "AMD EPYC (family 25 model 1), 2 threads",
		"AMD EPYC (family 25 model 1), 1 CPUs": "AMD EPYC (family 25 model 1), 1 thread",
		"arm64, 8 CPUs":                        "arm64, 8 threads",
		"no count":                             "no count",
		"odd, tail":                            "odd, tail",
	} {
		assert.Equal(t, want, threadsLabel(in), in)
	}
}
