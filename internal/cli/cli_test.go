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
		if code != tc.code || !strings.Contains(text, tc.want) {
			t.Errorf("gantry %s = %d, %q; want %d and %q", strings.Join(tc.args, " "), code, text, tc.code, tc.want)
		}
		if code != ExitOK && strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
			t.Errorf("gantry %s: error spans more than two lines: %q", strings.Join(tc.args, " "), errOut)
		}
	}
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for _, c := range commands {
		code, out, _ := run(t, c.name, "--help")
		if code != ExitOK || !strings.Contains(out, "Examples:\n  gantry "+c.name) || !strings.Contains(out, "Usage:") {
			t.Errorf("gantry %s --help = %d:\n%s", c.name, code, out)
		}
	}
}

func TestEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("no images"), 0o644)
	code, _, errOut := run(t, "train", "--data", dir, "--dry-run")
	if code != ExitFailure || !strings.Contains(errOut, "holds no PNG, JPEG or GIF image") {
		t.Errorf("train on a folder without images = %d, %q", code, errOut)
	}
}

// tinyModel saves a small random model and returns its path.
func tinyModel(t *testing.T, cfg gan.Config) string {
	t.Helper()
	m, err := gan.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if err := gan.Save(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTrainResumeAndReport(t *testing.T) {
	out := t.TempDir()
	args := []string{"train", "--data", "shipped:mnist", "--subset", "100", "--width", "2", "--iters", "4", "--batch", "4",
		"--n-critic", "1", "--eval-n", "20", "--eval", "shipped:mnist-eval", "--log-every", "2", "--checkpoint-every", "2", "--grid-size", "4", "--out", out}
	code, stdout, errOut := run(t, args...)
	if code != ExitOK {
		t.Fatalf("train = %d: %s", code, errOut)
	}
	dir := filepath.Join(out, "00000-train-mnist100")
	for _, f := range []string{"report.html", "report.json", "command.json", "protocol.json", "options.json", "checkpoint-000004.safetensors", "metric-fid.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder: %v", err)
		}
	}
	if !strings.Contains(stdout, "run=train it=2/4 loss_d=") || !strings.Contains(stdout, "FID = ") || !strings.Contains(stdout, "real shipped:mnist-eval n=1000; fake n=20") {
		t.Errorf("log lines without named columns or protocol:\n%s", stdout)
	}
	// --resume needs no other flag; --iters raises the target.
	code, stdout, errOut = run(t, "train", "--resume", "latest", "--out", out, "--iters", "6", "--json")
	if code != ExitOK {
		t.Fatalf("train --resume = %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["event"] != "result" {
		t.Fatalf("last JSON line %q: %v", lines[len(lines)-1], err)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("not one JSON object per line: %q", l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint-000006.safetensors")); err != nil {
		t.Errorf("resume did not continue in %s: %v", dir, err)
	}
	// A second run takes the next number.
	code, _, errOut = run(t, append(args, "--quiet")...)
	if code != ExitOK {
		t.Fatalf("second train = %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "00001-train-mnist100", "report.html")); err != nil {
		t.Error(err)
	}
	// A resume with another architecture is refused and says what to do.
	code, _, errOut = run(t, "train", "--resume", dir, "--width", "4")
	if code != ExitFailure || !strings.Contains(errOut, "d=2") || !strings.Contains(errOut, "drop the architecture flags") {
		t.Errorf("resume with another width = %d, %q", code, errOut)
	}
	// A resume with other options is refused in one line.
	code, _, errOut = run(t, "train", "--resume", dir, "--lr", "0.5")
	if code != ExitFailure || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Errorf("resume with another lr = %d, %q", code, errOut)
	}
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
	if code != ExitFailure || !strings.Contains(stderr.String(), "continue with: gantry train --resume") {
		t.Fatalf("interrupted run = %d, %q", code, stderr.String())
	}
	ck, err := gan.LatestCheckpoint(filepath.Join(out, "00000-train-mnist50"))
	if err != nil {
		t.Fatalf("no checkpoint after the interrupt: %v", err)
	}
	if !strings.Contains(stderr.String(), ck) {
		t.Errorf("the message %q does not name the checkpoint %s", stderr.String(), ck)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	out := t.TempDir()
	src := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 2})
	code, stdout, errOut := run(t, "finetune", "--source", src, "--data", "shipped:fashion", "--subset", "1000", "--freeze-d", "2", "--dry-run", "--out", out)
	if code != ExitOK {
		t.Fatalf("finetune --dry-run = %d: %s", code, errOut)
	}
	for _, want := range []string{"dry run", "generator", "1000 images of [1 32 32]", "\"freeze_d\": 2", "finetune-fashion1k"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("dry run wrote %d entries", len(entries))
	}
}

func TestFinetuneWrongArchitecture(t *testing.T) {
	src := tinyModel(t, gan.Config{Resolution: 16, Channels: 1, Width: 2})
	code, _, errOut := run(t, "finetune", "--source", src, "--data", "shipped:fashion", "--resolution", "32", "--dry-run")
	if code != ExitFailure || !strings.Contains(errOut, "makes 16x16 images") {
		t.Errorf("finetune with a 16px source on 32px data = %d, %q", code, errOut)
	}
}

func TestSampleAndEval(t *testing.T) {
	src := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 2})
	dir := t.TempDir()
	grid := filepath.Join(dir, "grid.png")
	if code, _, errOut := run(t, "sample", "--model", src, "--n", "9", "--out", grid); code != ExitOK {
		t.Fatalf("sample = %d: %s", code, errOut)
	}
	if _, err := os.Stat(grid); err != nil {
		t.Error(err)
	}
	folder := filepath.Join(dir, "fakes")
	if code, _, errOut := run(t, "sample", "--model", src, "--n", "12", "--out", folder); code != ExitOK {
		t.Fatalf("sample to a folder = %d: %s", code, errOut)
	}
	code, stdout, errOut := run(t, "eval", "--fake", folder, "--real", "shipped:mnist-eval", "--metrics", "fid,kid,pr", "--json")
	if code != ExitOK {
		t.Fatalf("eval = %d: %s", code, errOut)
	}
	var res struct {
		Metrics []Measured `json:"metrics"`
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || len(res.Metrics) != 4 {
		t.Fatalf("eval --json: %v, %q", err, stdout)
	}
	p := res.Metrics[0].Protocol
	if p.Extractor != "gantry-gray" || p.Fingerprint == "" || p.NReal != 1000 || p.NFake != 12 || p.Resize == "" || p.Covariance == "" {
		t.Errorf("FID protocol %+v", p)
	}
	if k := res.Metrics[1].Protocol; k.KIDSubsets != 100 || k.KIDSubsetSize != 12 {
		t.Errorf("KID protocol %+v", k)
	}
	// Too few samples: say how many are needed.
	code, _, errOut = run(t, "eval", "--model", src, "--real", "shipped:mnist-eval", "--n", "1")
	if code != ExitFailure || !strings.Contains(errOut, "need at least 2 images on each side") {
		t.Errorf("eval --n 1 = %d, %q", code, errOut)
	}
	code, _, errOut = run(t, "eval", "--model", src, "--real", "shipped:mnist-eval", "--n", "3", "--metrics", "pr")
	if code != ExitFailure || !strings.Contains(errOut, "need at least 4 images") {
		t.Errorf("eval pr --n 3 = %d, %q", code, errOut)
	}
}
