package cli

import (
	"bufio"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/gan"
)

// readmeCommands returns the `go run ./cmd/gantry ...` lines of the
// README's shell blocks, as arguments, comments dropped.
func readmeCommands(t *testing.T) [][]string {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds [][]string
	inShell := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inShell = true
		case strings.HasPrefix(line, "```"):
			inShell = false
		case inShell && strings.HasPrefix(line, "go run ./cmd/gantry"):
			line, _, _ = strings.Cut(line, "#")
			cmds = append(cmds, strings.Fields(line)[3:])
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("found %d gantry commands in README.md", len(cmds))
	}
	return cmds
}

// TestReadmeCommands runs every gantry command of the README, in order, in
// a fresh folder, with budgets cut by flags appended to it (the later flag
// wins): a tiny source instead of the shipped one, a few iterations and
// samples. `demo` runs as `demo --quick` on a tiny budget here; TestDemoQuick
// runs the real --quick.
func TestReadmeCommands(t *testing.T) {
	cmds := readmeCommands(t)
	tiny := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 2})
	tiny2 := tinyModel(t, gan.Config{Resolution: 32, Channels: 1, Width: 4})
	t.Chdir(t.TempDir())
	writePhotos(t, "my-photos")
	cut := map[string][]string{
		"demo":         {"--source", tiny, "--iters", "2", "--eval-n", "20", "--quiet"},
		"finetune":     {"--source", tiny, "--iters", "2", "--eval-n", "20", "--quiet"},
		"train":        {"--iters", "2", "--width", "2", "--eval-n", "20", "--quiet"},
		"rank-sources": {"--sources", tiny + "," + tiny2},
		"eval":         {"--n", "50"},
	}
	for _, args := range cmds {
		if len(args) > 0 {
			args = append(args, cut[args[0]]...)
		}
		code, _, errOut := run(t, args...)
		if code != ExitOK {
			entries, _ := os.ReadDir("runs")
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("README: gantry %s = %d: %s (runs/ holds %v)", strings.Join(args, " "), code, errOut, names)
		}
	}
}

// writePhotos makes a folder of mixed images: gray, RGBA, palette,
// non-square, and a file that is not an image.
func writePhotos(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "cats"), 0o755); err != nil {
		t.Fatal(err)
	}
	imgs := map[string]image.Image{
		"a.png":      image.NewGray(image.Rect(0, 0, 40, 30)),
		"cats/b.png": image.NewRGBA(image.Rect(0, 0, 64, 64)),
		"cats/c.png": image.NewPaletted(image.Rect(0, 0, 20, 50), color.Palette{color.Black, color.White}),
	}
	for name, img := range imgs {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("not a png"), 0o644)
}

func TestDatasetManifest(t *testing.T) {
	t.Chdir(t.TempDir())
	writePhotos(t, "in")
	code, stdout, errOut := run(t, "dataset", "in", "--out", "out", "--resolution", "16", "--channels", "1")
	if code != ExitOK {
		t.Fatalf("dataset = %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "bad file broken.png") || strings.Index(stdout, "bad file") > strings.Index(stdout, "wrote") {
		t.Errorf("bad files not listed first:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join("out", ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"source": "cats/b.png"`, `"source_sha256"`, `"label": -1`, `"reason"`, `"cats": 2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("manifest lacks %s:\n%s", want, b)
		}
	}
	if _, err := os.Stat(filepath.Join("out", "cats", "00001.png")); err != nil {
		t.Error(err)
	}
}
