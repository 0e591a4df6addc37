package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/sources"
)

// TestDemoQuick runs `gantry demo --quick --json` end to end: both runs,
// their evaluations, the reports and the one JSON result. It takes about a
// minute on two quiet cores (more on a loaded machine, several times more
// under -tags noasm, where it is skipped, as with -short). Until the MNIST
// source is shipped it runs on a small random source, which checks the
// machinery but not that pretraining helps.
func TestDemoQuick(t *testing.T) {
	if testing.Short() || noasm {
		t.Skip("the demo takes a minute; skipped with -short and -tags noasm")
	}
	out := t.TempDir()
	args := []string{"demo", "--quick", "--json", "--out", out}
	shippedSource := true
	if _, err := sources.MNIST(); errors.Is(err, sources.ErrNotShipped) {
		shippedSource = false
		args = append(args, "--source", tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 4}))
	}
	code, stdout, errOut := run(t, args...)
	if code != ExitOK {
		t.Fatalf("gantry demo --quick = %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res struct {
		Event  string `json:"event"`
		Report string `json:"report"`
		Ahead  bool   `json:"pretrained_ahead"`
		Runs   map[string]struct {
			Iterations int        `json:"iterations"`
			Metrics    []Measured `json:"metrics"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Event != "result" {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, name := range []string{"pretrained", "scratch"} {
		r := res.Runs[name]
		if r.Iterations != demoQuickIters || len(r.Metrics) != 2 {
			t.Errorf("%s: %+v", name, r)
		}
		for _, m := range r.Metrics {
			if p := m.Protocol; p.Extractor != "gantry-gray" || p.NReal != 1000 || p.NFake != demoQuickEvalN || p.Real != "shipped:fashion-eval" {
				t.Errorf("%s %s protocol %+v", name, m.Metric, p)
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(res.Report), name, ReportFile)); err != nil {
			t.Error(err)
		}
	}
	page, err := os.ReadFile(res.Report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pretrained", "scratch", "After 20 iterations each", "data:image/png;base64,"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if shippedSource && !res.Ahead {
		t.Errorf("the shipped source is not ahead of training from scratch after %d iterations", demoQuickIters)
	}
}

// The default demo's budget, as a dry run: what `gantry demo` would do.
func TestDemoDefaultsDryRun(t *testing.T) {
	src := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 16})
	code, stdout, errOut := run(t, "demo", "--dry-run", "--source", src, "--json")
	if code != ExitOK {
		t.Fatalf("demo --dry-run = %d: %s", code, errOut)
	}
	for _, want := range []string{`"iterations":150`, `"batch_size":16`, `"lr":0.0001`, `"images":1000`, `"samples":1000`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %s: %s", want, stdout)
		}
	}
}
