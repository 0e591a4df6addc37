package golden

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadSmall(t *testing.T) {
	ts, err := Load("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Tensor{
		"w":     {Shape: []int{2, 3}, Data: []float32{1, -2.5, 0.1, 3e-8, float32(math.Copysign(0, -1)), 16777216}},
		"s":     {Shape: []int{}, Data: []float32{1.0 / 3}},
		"v":     {Shape: []int{4}, Data: []float32{math.SmallestNonzeroFloat32 * (1 << 23), math.SmallestNonzeroFloat32, -math.MaxFloat32, 7}},
		"empty": {Shape: []int{0, 5}, Data: []float32{}},
	}
	if !reflect.DeepEqual(ts, want) {
		t.Fatalf("Load = %#v\nwant %#v", ts, want)
	}
	if !math.Signbit(float64(ts["w"].Data[4])) {
		t.Error("-0 lost its sign")
	}
	if got := ts["s"].Len(); got != 1 {
		t.Errorf("scalar Len = %d, want 1", got)
	}
}

func TestLoadMeta(t *testing.T) {
	m, err := LoadMeta("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"stride": []any{2.0, 1.0}, "note": "handwritten"}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("LoadMeta = %#v, want %#v", m, want)
	}
	f, err := Read("testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Names(), []string{"empty", "s", "v", "w"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
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
		if err := os.WriteFile(path, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range append(c.want, "bad.json") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: error %v", err)
	}
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
		if err != nil {
			t.Error(err)
			continue
		}
		t.Logf("%s: %d tensors", p, len(f.Tensors))
		if len(f.Tensors) == 0 {
			t.Errorf("%s: no tensors", p)
		}
		for name, ts := range f.Tensors {
			for i, v := range ts.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Errorf("%s: %s[%d] = %v", p, name, i, v)
					break
				}
			}
		}
	}
}
