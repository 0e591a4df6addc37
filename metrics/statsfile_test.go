package metrics

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	bad := bytes.Replace(full, []byte(`"F64"`), []byte(`"F32"`), 1)
	if _, err := LoadStats(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "dtype") {
		t.Errorf("LoadStats with F32 data: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), bad, 0o644)
	if _, err := LoadStatsFile(filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "x")) {
		t.Errorf("LoadStatsFile error does not name the file: %v", err)
	}
}
