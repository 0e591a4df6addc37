package golden

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadSmall(t *testing.T) {
	ts, err := Load("testdata/small.json")
	require.NoError(t, err)
	want := map[string]Tensor{
		"w":     {Shape: []int{2, 3}, Data: []float32{1, -2.5, 0.1, 3e-8, float32(math.Copysign(0, -1)), 16777216}},
		"s":     {Shape: []int{}, Data: []float32{1.0 / 3}},
		"v":     {Shape: []int{4}, Data: []float32{math.SmallestNonzeroFloat32 * (1 << 23), math.SmallestNonzeroFloat32, -math.MaxFloat32, 7}},
		"empty": {Shape: []int{0, 5}, Data: []float32{}},
	}
	require.Equal(t, want, ts, "Load")
	assert.True(t, math.Signbit(float64(ts["w"].Data[4])), "-0 lost its sign")
	assert.Equal(t, 1, ts["s"].Len(), "scalar Len")
}

func TestLoadMeta(t *testing.T) {
	m, err := LoadMeta("testdata/small.json")
	require.NoError(t, err)
	want := map[string]any{"stride": []any{2.0, 1.0}, "note": "handwritten"}
	require.Equal(t, want, m, "LoadMeta")
	f, err := Read("testdata/small.json")
	require.NoError(t, err)
	assert.Equal(t, []string{"empty", "s", "v", "w"}, f.Names())
}

func TestErrors(t *testing.T) {
	const ok = `"format":"gantry-golden-1"`
	cases := []struct {
		name, json string
		want       []string // substrings of the error
	}{
		{"syntax", `{`, []string{"bad.json"}},
		{"no format", `{"tensors":{}}`, []string{"bad.json", "missing \"format\""}},
		{"wrong format", `{"format":"x","tensors":{}}`, []string{"bad.json", `"x"`}},
		{"no tensors", `{` + ok + `}`, []string{"missing \"tensors\""}},
		{"length", `{` + ok + `,"tensors":{"a.b":{"shape":[2,2],"data":[1,2,3]}}}`, []string{"bad.json", `"a.b"`, "4 elements", "has 3"}},
		{"scalar length", `{` + ok + `,"tensors":{"s":{"shape":[],"data":[]}}}`, []string{`"s"`, "1 elements"}},
		{"negative dim", `{` + ok + `,"tensors":{"n":{"shape":[-1],"data":[]}}}`, []string{`"n"`, "negative"}},
		{"no shape", `{` + ok + `,"tensors":{"k":{"data":[1]}}}`, []string{`"k"`, "missing \"shape\""}},
		{"no data", `{` + ok + `,"tensors":{"k":{"shape":[1]}}}`, []string{`"k"`, "missing \"data\""}},
		{"unknown field", `{` + ok + `,"tensors":{"k":{"shape":[1],"data":[1],"dtype":"f64"}}}`, []string{`"k"`, "dtype"}},
		{"null element", `{` + ok + `,"tensors":{"k":{"shape":[2],"data":[1,null]}}}`, []string{`"k"`, "data[1]", "null"}},
		{"overflow", `{` + ok + `,"tensors":{"k":{"shape":[1],"data":[1e39]}}}`, []string{`"k"`, "data[0]", "float32"}},
		{"null tensor", `{` + ok + `,"tensors":{"k":null}}`, []string{`"k"`}},
		{"string data", `{` + ok + `,"tensors":{"k":{"shape":[1],"data":"abc"}}}`, []string{`"k"`}},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.json")
	for _, c := range cases {
		require.NoError(t, os.WriteFile(path, []byte(c.json), 0o644))
		_, err := Load(path)
		if !assert.Error(t, err, c.name) {
			continue
		}
		for _, w := range append(c.want, "bad.json") {
			assert.ErrorContains(t, err, w, c.name)
		}
	}
	_, err := Load(filepath.Join(dir, "missing.json"))
	assert.ErrorContains(t, err, "missing.json", "missing file")
}

// TestRepoFiles checks that every golden file committed under the module's
// testdata directories parses.
func TestRepoFiles(t *testing.T) {
	paths, _ := filepath.Glob("../../*/testdata/*.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), `"gantry-golden-1"`) {
			continue
		}
		f, err := Read(p)
		if !assert.NoError(t, err) {
			continue
		}
		t.Logf("%s: %d tensors", p, len(f.Tensors))
		assert.NotEmpty(t, f.Tensors, "%s: tensors", p)
		for name, ts := range f.Tensors {
			for i, v := range ts.Data {
				if !assert.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "%s: %s[%d] = %v", p, name, i, v) {
					break
				}
			}
		}
	}
}
