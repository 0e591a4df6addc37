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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeCommands returns the `go run ./cmd/gantry ...` lines of the
// README's shell blocks, as arguments, comments dropped.
func readmeCommands(t *testing.T) [][]string {
	f, err := os.Open("../../README.md")
	require.NoError(t, err)
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
	require.GreaterOrEqual(t, len(cmds), 5, "gantry commands in README.md")
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
			assert.Equal(t, ExitOK, code, "README: gantry %s: %s (runs/ holds %v)", strings.Join(args, " "), errOut, names)
		}
	}
}

// writePhotos makes a folder of mixed images: gray, RGBA, palette,
// non-square, and a file that is not an image.
func writePhotos(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "cats"), 0o755))
	imgs := map[string]image.Image{
		"a.png":      image.NewGray(image.Rect(0, 0, 40, 30)),
		"cats/b.png": image.NewRGBA(image.Rect(0, 0, 64, 64)),
		"cats/c.png": image.NewPaletted(image.Rect(0, 0, 20, 50), color.Palette{color.Black, color.White}),
	}
	for name, img := range imgs {
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		f.Close()
	}
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("not a png"), 0o644)
}

func TestDatasetManifest(t *testing.T) {
	t.Chdir(t.TempDir())
	writePhotos(t, "in")
	code, stdout, errOut := run(t, "dataset", "in", "--out", "out", "--resolution", "16", "--channels", "1")
	require.Equal(t, ExitOK, code, "dataset: %s", errOut)
	assert.Contains(t, stdout, "bad file broken.png")
	assert.Less(t, strings.Index(stdout, "bad file"), strings.Index(stdout, "wrote"), "bad files listed first:\n%s", stdout)
	b, err := os.ReadFile(filepath.Join("out", ManifestFile))
	require.NoError(t, err)
	for _, want := range []string{`"source": "cats/b.png"`, `"source_sha256"`, `"label": -1`, `"reason"`, `"cats": 2`} {
		assert.Contains(t, string(b), want, "manifest")
	}
	assert.FileExists(t, filepath.Join("out", "cats", "00001.png"))
}
