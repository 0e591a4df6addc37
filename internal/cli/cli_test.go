package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run runs a command line in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout for 0, stderr otherwise
	}{
		{nil, ExitOK, "Commands:"},
		{[]string{"help"}, ExitOK, "Commands:"},
		{[]string{"help", "finetune"}, ExitOK, "--freeze-d"},
		{[]string{"finetune", "--help"}, ExitOK, "Examples:"},
		{[]string{"version"}, ExitOK, "gantry 0."},
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"train", "--bogus"}, ExitUsage, "unknown flag --bogus"},
		{[]string{"train", "--iters", "x", "--data", "shipped:mnist"}, ExitUsage, `--iters "x": want a whole number`},
		{[]string{"train"}, ExitUsage, "--data is required"},
		{[]string{"finetune", "--data", "shipped:fashion", "--freeze-d", "7"}, ExitUsage, "--freeze-d 7 is out of range: want 0 to 4"},
		{[]string{"finetune", "--data", "shipped:fashion", "--init", "half"}, ExitUsage, `--init "half" is not one of both, d, g, scratch`},
		{[]string{"finetune", "--data", "shipped:fashion", "--lr", "-1"}, ExitUsage, "--lr -1 is out of range"},
		{[]string{"train", "--data", "shipped:mnist", "--resolution", "30"}, ExitUsage, "--resolution 30"},
		{[]string{"eval", "--real", "shipped:mnist-eval"}, ExitUsage, "give one of --model"},
		{[]string{"sample", "--model", "x"}, ExitUsage, "--out is required"},
		{[]string{"train", "--data", "/no/such/folder", "--dry-run"}, ExitFailure, "/no/such/folder: no such folder or file"},
		{[]string{"train", "--data", "shipped:cifar", "--dry-run"}, ExitFailure, `no shipped data set "cifar"`},
		{[]string{"sample", "--model", "/no/such.safetensors", "--out", "x.png"}, ExitFailure, "no such file or folder"},
	} {
		code, out, errOut := run(t, tc.args...)
		text := errOut
		if tc.code == ExitOK {
			text = out
		}
		cmd := strings.Join(tc.args, " ")
		assert.Equal(t, tc.code, code, "gantry %s: exit code", cmd)
		assert.Contains(t, text, tc.want, "gantry %s", cmd)
		if code != ExitOK {
			assert.LessOrEqual(t, strings.Count(strings.TrimSpace(errOut), "\n"), 1, "gantry %s: error spans more than two lines: %q", cmd, errOut)
		}
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for _, c := range commands {
		code, out, _ := run(t, c.name, "--help")
		assert.Equal(t, ExitOK, code, "gantry %s --help: exit code", c.name)
		assert.Contains(t, out, "Examples:\n  gantry "+c.name, "gantry %s --help", c.name)
		assert.Contains(t, out, "Usage:", "gantry %s --help", c.name)
	}
}

func TestEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("no images"), 0o644)
	code, _, errOut := run(t, "train", "--data", dir, "--dry-run")
	assert.Equal(t, ExitFailure, code, "train on a folder without images: exit code")
	assert.Contains(t, errOut, "holds no PNG, JPEG or GIF image")
}

// tinyModel saves a small random model and returns its path.
func tinyModel(t *testing.T, cfg gan.Config) string {
	t.Helper()
	m, err := gan.New(cfg, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	require.NoError(t, gan.Save(path, m))
	return path
}

func TestTrainResumeAndReport(t *testing.T) {
	out := t.TempDir()
	args := []string{"train", "--data", "shipped:mnist", "--subset", "100", "--width", "2", "--iters", "4", "--batch", "4",
		"--n-critic", "1", "--eval-n", "20", "--eval", "shipped:mnist-eval", "--log-every", "2", "--checkpoint-every", "2", "--grid-size", "4", "--out", out}
	code, stdout, errOut := run(t, args...)
	require.Equal(t, ExitOK, code, "train: %s", errOut)
	dir := filepath.Join(out, "00000-train-mnist100")
	for _, f := range []string{"report.html", "report.json", "command.json", "protocol.json", "options.json", "checkpoint-000004.safetensors", "metric-fid.jsonl"} {
		assert.FileExists(t, filepath.Join(dir, f), "run folder")
	}
	for _, want := range []string{"run=train it=2/4 loss_d=", "FID = ", "real shipped:mnist-eval n=1000; fake n=20"} {
		assert.Contains(t, stdout, want, "log lines without named columns or protocol")
	}
	// --resume needs no other flag; --iters raises the target.
	code, stdout, errOut = run(t, "train", "--resume", "latest", "--out", out, "--iters", "6", "--json")
	require.Equal(t, ExitOK, code, "train --resume: %s", errOut)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last), "last JSON line")
	require.Equal(t, "result", last["event"], "last JSON line")
	for _, l := range lines {
		assert.True(t, json.Valid([]byte(l)), "not one JSON object per line: %q", l)
	}
	assert.FileExists(t, filepath.Join(dir, "checkpoint-000006.safetensors"), "resume did not continue in %s", dir)
	// A second run takes the next number.
	code, _, errOut = run(t, append(args, "--quiet")...)
	require.Equal(t, ExitOK, code, "second train: %s", errOut)
	assert.FileExists(t, filepath.Join(out, "00001-train-mnist100", "report.html"))
	// A resume with another architecture is refused and says what to do.
	code, _, errOut = run(t, "train", "--resume", dir, "--width", "4")
	assert.Equal(t, ExitFailure, code, "resume with another width: exit code")
	assert.Contains(t, errOut, "d=2", "resume with another width")
	assert.Contains(t, errOut, "drop the architecture flags", "resume with another width")
	// A resume with other options is refused in one line.
	code, _, errOut = run(t, "train", "--resume", dir, "--lr", "0.5")
	assert.Equal(t, ExitFailure, code, "resume with another lr: exit code")
	assert.Zero(t, strings.Count(strings.TrimSpace(errOut), "\n"), "resume with another lr: one line: %q", errOut)
}

// cancelAt cancels a context when the output shows a string: Ctrl-C in the
// middle of training.
type cancelAt struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	when   string
	cancel func()
}

func (w *cancelAt) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.when) {
		w.cancel()
	}
	return len(p), nil
}

func TestInterruptWritesCheckpoint(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelAt{when: "it=3/", cancel: cancel}
	var stderr bytes.Buffer
	code := Main(ctx, []string{"train", "--data", "shipped:mnist", "--subset", "50", "--width", "2", "--iters", "1000", "--batch", "2",
		"--n-critic", "1", "--eval", "none", "--grid-size", "4", "--log-every", "1", "--out", out}, Env{Stdout: w, Stderr: &stderr})
	require.Equal(t, ExitFailure, code, "interrupted run: exit code")
	require.Contains(t, stderr.String(), "continue with: gantry train --resume", "interrupted run")
	ck, err := gan.LatestCheckpoint(filepath.Join(out, "00000-train-mnist50"))
	require.NoError(t, err, "no checkpoint after the interrupt")
	assert.Contains(t, stderr.String(), ck, "the message names the checkpoint")
}

func TestDryRunWritesNothing(t *testing.T) {
	out := t.TempDir()
	src := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 2})
	code, stdout, errOut := run(t, "finetune", "--source", src, "--data", "shipped:fashion", "--subset", "1000", "--freeze-d", "2", "--dry-run", "--out", out)
	require.Equal(t, ExitOK, code, "finetune --dry-run: %s", errOut)
	for _, want := range []string{"dry run", "generator", "1000 images of [1 32 32]", "\"freeze_d\": 2", "finetune-fashion1k"} {
		assert.Contains(t, stdout, want, "dry run output")
	}
	entries, _ := os.ReadDir(out)
	assert.Empty(t, entries, "dry run wrote entries")
}

func TestFinetuneWrongArchitecture(t *testing.T) {
	src := tinyModel(t, gan.Config{Resolution: 16, Channels: 1, Width: 2})
	code, _, errOut := run(t, "finetune", "--source", src, "--data", "shipped:fashion", "--resolution", "32", "--dry-run")
	assert.Equal(t, ExitFailure, code, "finetune with a 16px source on 32px data: exit code")
	assert.Contains(t, errOut, "makes 16x16 images", "finetune with a 16px source on 32px data")
}

func TestSampleAndEval(t *testing.T) {
	src := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 2})
	dir := t.TempDir()
	grid := filepath.Join(dir, "grid.png")
	code, _, errOut := run(t, "sample", "--model", src, "--n", "9", "--out", grid)
	require.Equal(t, ExitOK, code, "sample: %s", errOut)
	assert.FileExists(t, grid)
	folder := filepath.Join(dir, "fakes")
	code, _, errOut = run(t, "sample", "--model", src, "--n", "12", "--out", folder)
	require.Equal(t, ExitOK, code, "sample to a folder: %s", errOut)
	code, stdout, errOut := run(t, "eval", "--fake", folder, "--real", "shipped:mnist-eval", "--metrics", "fid,kid,pr", "--json")
	require.Equal(t, ExitOK, code, "eval: %s", errOut)
	var res struct {
		Metrics []Measured `json:"metrics"`
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), "eval --json: %q", stdout)
	require.Len(t, res.Metrics, 4, "eval --json")
	p := res.Metrics[0].Protocol
	assert.Equal(t, "gantry-gray", p.Extractor, "FID protocol")
	assert.Equal(t, [2]int{1000, 12}, [2]int{p.NReal, p.NFake}, "FID protocol: NReal, NFake")
	assert.NotEmpty(t, p.Fingerprint, "FID protocol")
	assert.NotEmpty(t, p.Resize, "FID protocol")
	assert.NotEmpty(t, p.Covariance, "FID protocol")
	k := res.Metrics[1].Protocol
	assert.Equal(t, [2]int{100, 12}, [2]int{k.KIDSubsets, k.KIDSubsetSize}, "KID protocol: subsets, subset size")
	// Too few samples: say how many are needed.
	code, _, errOut = run(t, "eval", "--model", src, "--real", "shipped:mnist-eval", "--n", "1")
	assert.Equal(t, ExitFailure, code, "eval --n 1: exit code")
	assert.Contains(t, errOut, "need at least 2 images on each side", "eval --n 1")
	code, _, errOut = run(t, "eval", "--model", src, "--real", "shipped:mnist-eval", "--n", "3", "--metrics", "pr")
	assert.Equal(t, ExitFailure, code, "eval pr --n 3: exit code")
	assert.Contains(t, errOut, "need at least 4 images", "eval pr --n 3")
}
