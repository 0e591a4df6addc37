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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.Equal(t, ExitOK, code, "gantry demo --quick: %s", errOut)
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
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), "last line")
	require.Equal(t, "result", res.Event, "last line")
	for _, name := range []string{"pretrained", "scratch"} {
		r := res.Runs[name]
		assert.Equal(t, demoQuickIters, r.Iterations, "%s: iterations", name)
		assert.Len(t, r.Metrics, 2, "%s: metrics", name)
		for _, m := range r.Metrics {
			p := m.Protocol
			assert.Equal(t, "gantry-gray", p.Extractor, "%s %s protocol", name, m.Metric)
			assert.Equal(t, [2]int{1000, demoQuickEvalN}, [2]int{p.NReal, p.NFake}, "%s %s protocol: NReal, NFake", name, m.Metric)
			assert.Equal(t, "shipped:fashion-eval", p.Real, "%s %s protocol", name, m.Metric)
		}
		assert.FileExists(t, filepath.Join(filepath.Dir(res.Report), name, ReportFile))
	}
	page, err := os.ReadFile(res.Report)
	require.NoError(t, err)
	for _, want := range []string{"pretrained", "scratch", "After 20 iterations each", "data:image/png;base64,"} {
		assert.Contains(t, string(page), want, "report")
	}
	if shippedSource {
		assert.True(t, res.Ahead, "the shipped source is not ahead of training from scratch after %d iterations", demoQuickIters)
	}
}

// The default demo's budget, as a dry run: what `gantry demo` would do.
func TestDemoDefaultsDryRun(t *testing.T) {
	src := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 16})
	code, stdout, errOut := run(t, "demo", "--dry-run", "--source", src, "--json")
	require.Equal(t, ExitOK, code, "demo --dry-run: %s", errOut)
	for _, want := range []string{`"iterations":120`, `"batch_size":16`, `"lr":0.0001`, `"images":1000`, `"samples":1000`} {
		assert.Contains(t, stdout, want, "dry run")
	}
}
