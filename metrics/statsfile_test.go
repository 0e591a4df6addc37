package metrics

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/internal/safetensors"
	"github.com/gantry-go/gantry/tensor"
)

func TestStatsFileRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := NewStats("ext", 5), NewStats("ext", 5)
	a.Add(tensor.RandN(r, 40, 5))
	b.Add(tensor.AddScalar(tensor.RandN(r, 30, 5), 0.3))
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	c, err := LoadStats(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "ext" || c.Len() != 40 || c.Dim() != 5 {
		t.Fatalf("loaded stats %q n=%d d=%d", c.Name(), c.Len(), c.Dim())
	}
	want, got := FID(a, b).Value, FID(c, b).Value
	if math.Abs(got-want) > 1e-12*want {
		t.Errorf("FID from loaded stats = %.17g; want %.17g", got, want)
	}

	path := filepath.Join(t.TempDir(), "ref.stats")
	if err := a.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	if d, err := LoadStatsFile(path); err != nil || math.Abs(FID(d, b).Value-want) > 1e-12*want {
		t.Errorf("LoadStatsFile: %v", err)
	}
	if _, err := LoadStatsFile(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("LoadStatsFile of a missing file: no error")
	}

	// Damaged data is an error, never a panic.
	full := buf.Bytes()
	for _, n := range []int{0, 5, 8, 40, len(full) - 1} {
		if _, err := LoadStats(bytes.NewReader(full[:n])); err == nil {
			t.Errorf("LoadStats of %d of %d bytes: no error", n, len(full))
		}
	}
	var f32 bytes.Buffer
	safetensors.Write(&f32, []safetensors.Tensor[float32]{
		{Name: "mu", Shape: []int{1}, Data: []float32{0}},
		{Name: "sigma", Shape: []int{1, 1}, Data: []float32{1}},
	}, map[string]string{"n": "3"})
	bad := f32.Bytes()
	if _, err := LoadStats(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "dtype") {
		t.Errorf("LoadStats with F32 data: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), bad, 0o644)
	if _, err := LoadStatsFile(filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "x")) {
		t.Errorf("LoadStatsFile error does not name the file: %v", err)
	}
}

// stats1 builds a one-dimensional stats file by hand.
func stats1(header string, values ...float64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	for _, v := range values {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

const (
	statsMeta = `"__metadata__":{"n":"4"}`
	muEntry   = `"mu":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}`
	sigEntry  = `"sigma":{"dtype":"F64","shape":[1,1],"data_offsets":[8,16]}`
)

func TestLoadStatsRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"negative variance", stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`}`, 0, -1), "negative variance"},
		{"NaN", stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`}`, math.NaN(), 1), "NaN"},
		{"infinity", stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`}`, 0, math.Inf(1)), "+Inf"},
		{"duplicate key", stats1(`{`+statsMeta+`,`+muEntry+`,`+muEntry+`,`+sigEntry+`}`, 0, 1), "twice"},
		{"overlapping ranges", stats1(`{`+statsMeta+`,`+muEntry+`,"sigma":{"dtype":"F64","shape":[1,1],"data_offsets":[0,8]}}`, 0), "overlap"},
		{"trailing data", stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`}`, 0, 1, 2), "header describes"},
		{"extra tensor", stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`,"x":{"dtype":"F64","shape":[],"data_offsets":[16,24]}}`, 0, 1, 2), `"x"`},
		{"n below 2", stats1(`{"__metadata__":{"n":"1"},`+muEntry+`,`+sigEntry+`}`, 0, 1), "n ="},
		{"no sigma", stats1(`{`+statsMeta+`,`+muEntry+`}`, 0), `"sigma"`},
	}
	for _, c := range cases {
		for _, r := range []io.Reader{bytes.NewReader(c.in), bufio.NewReader(bytes.NewReader(c.in))} {
			_, err := LoadStats(r)
			if err == nil || !strings.HasPrefix(err.Error(), "metrics: LoadStats: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: LoadStats = %v; want an error mentioning %q", c.name, err, c.want)
			}
		}
	}
	if _, err := LoadStats(bytes.NewReader(stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`}`, 0, 1))); err != nil {
		t.Errorf("LoadStats of a valid file: %v", err)
	}
}

func TestStatsSaveFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ref.stats")
	s := NewStats("ext", 2)
	s.Add(tensor.Ones(1, 2))
	err := s.SaveFile(path)
	if err == nil || !strings.HasPrefix(err.Error(), "metrics: Stats.SaveFile "+path+": ") {
		t.Errorf("SaveFile of one vector = %v; want an error naming %s", err, path)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed SaveFile left %v", ents)
	}
	s.Add(tensor.Zeros(1, 2))
	if err := s.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o044 != 0o044 {
		t.Errorf("SaveFile made %v (%v); want it readable by all, 0644 as nn's files", st.Mode(), err)
	}
}

func FuzzLoadStats(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzLoadStats, so every go test runs
	// them; regenerate them with the writer if the format changes.
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadStats(bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "metrics: LoadStats: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		var out bytes.Buffer
		if err := s.Save(&out); err != nil {
			t.Fatalf("re-save: %v", err)
		}
		if _, err := LoadStats(bytes.NewReader(out.Bytes())); err != nil {
			t.Fatalf("reload: %v", err)
		}
	})
}
