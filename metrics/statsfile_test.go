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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsFileRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := NewStats("ext", 5), NewStats("ext", 5)
	a.Add(tensor.RandN(r, 40, 5))
	b.Add(tensor.AddScalar(tensor.RandN(r, 30, 5), 0.3))
	var buf bytes.Buffer
	require.NoError(t, a.Save(&buf))
	c, err := LoadStats(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, "ext", c.Name())
	assert.Equal(t, 40, c.Len())
	assert.Equal(t, 5, c.Dim())
	want := FID(a, b).Value
	assert.InEpsilon(t, want, FID(c, b).Value, statsTol, "FID from loaded stats")

	path := filepath.Join(t.TempDir(), "ref.stats")
	require.NoError(t, a.SaveFile(path))
	d, err := LoadStatsFile(path)
	require.NoError(t, err)
	assert.InEpsilon(t, want, FID(d, b).Value, statsTol, "FID from LoadStatsFile")
	_, err = LoadStatsFile(filepath.Join(t.TempDir(), "none"))
	assert.Error(t, err, "LoadStatsFile of a missing file")

	// Damaged data is an error, never a panic.
	full := buf.Bytes()
	for _, n := range []int{0, 5, 8, 40, len(full) - 1} {
		_, err := LoadStats(bytes.NewReader(full[:n]))
		assert.Error(t, err, "LoadStats of %d of %d bytes", n, len(full))
	}
	var f32 bytes.Buffer
	require.NoError(t, safetensors.Write(&f32, []safetensors.Tensor[float32]{
		{Name: "mu", Shape: []int{1}, Data: []float32{0}},
		{Name: "sigma", Shape: []int{1, 1}, Data: []float32{1}},
	}, map[string]string{"n": "3"}))
	_, err = LoadStats(bytes.NewReader(f32.Bytes()))
	assert.ErrorContains(t, err, "dtype", "LoadStats with F32 data")
	bad := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.WriteFile(bad, f32.Bytes(), 0o644))
	_, err = LoadStatsFile(bad)
	assert.ErrorContains(t, err, bad, "LoadStatsFile's error names the file")
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
			if assert.Error(t, err, c.name) {
				assert.True(t, strings.HasPrefix(err.Error(), "metrics: LoadStats: "), "%s: %v lacks the prefix", c.name, err)
				assert.Contains(t, err.Error(), c.want, c.name)
			}
		}
	}
	_, err := LoadStats(bytes.NewReader(stats1(`{`+statsMeta+`,`+muEntry+`,`+sigEntry+`}`, 0, 1)))
	assert.NoError(t, err, "LoadStats of a valid file")
}

func TestStatsSaveFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ref.stats")
	s := NewStats("ext", 2)
	s.Add(tensor.Ones(1, 2))
	err := s.SaveFile(path)
	if assert.Error(t, err, "SaveFile of one vector") {
		assert.True(t, strings.HasPrefix(err.Error(), "metrics: Stats.SaveFile "+path+": "), "%v does not name %s", err, path)
	}
	ents, _ := os.ReadDir(dir)
	assert.Empty(t, ents, "a failed SaveFile left files")
	s.Add(tensor.Zeros(1, 2))
	require.NoError(t, s.SaveFile(path))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o044), st.Mode().Perm()&0o044, "readable by all, 0644 as nn's files")
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
		require.NoError(t, s.Save(&out), "re-save")
		if _, err := LoadStats(bytes.NewReader(out.Bytes())); err != nil {
			t.Fatalf("reload: %v", err)
		}
	})
}
