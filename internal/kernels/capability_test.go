package kernels

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCapLevel(t *testing.T) {
	for _, c := range []struct {
		hw   isaLevel
		env  string
		want isaLevel
		warn string // a substring of the warning, or "" for none
	}{
		{levelAVX512, "", levelAVX512, ""},
		{levelAVX512, "avx2", levelAVX2, ""},
		{levelAVX512, " AVX2 ", levelAVX2, ""},
		{levelAVX512, "generic", levelGeneric, ""},
		{levelAVX2, "avx2", levelAVX2, ""},
		{levelAVX2, "avx512", levelAVX2, "above what this CPU"},
		{levelGeneric, "avx2", levelGeneric, "using generic"},
		{levelAVX2, "sse4", levelAVX2, "not one of"},
		{levelAVX2, "default", levelAVX2, "not one of"},
	} {
		var w bytes.Buffer
		got := capLevel(c.hw, c.env, &w)
		assert.Equal(t, c.want, got, "hw %s, %q", c.hw, c.env)
		if c.warn == "" {
			assert.Empty(t, w.String(), "hw %s, %q", c.hw, c.env)
		} else {
			assert.Contains(t, w.String(), c.warn, "hw %s, %q", c.hw, c.env)
		}
	}
}

// capChild is what a child of TestCapabilityEnv reports.
type capChild struct {
	Capability string
	Results    [][]float32 // a GEMM, a dot-path GEMM and the three convolutions
}

// envCapOut tells the re-executed test binary that it is a child of
// TestCapabilityEnv, and where to write its capChild.
const envCapOut = "GANTRY_KERNELS_CAPTEST_OUT"

// TestCapabilityEnv runs this test binary again under each value of
// GANTRY_CPU_CAPABILITY: the child reports Capability() and the results of
// GEMMs and convolutions taking every path (blocked, dot, direct or
// implicit GEMM, im2col). The capped path must be the one asked for (or the
// machine's best when it asks for more, with a warning), the results under
// avx2 and generic must agree within rounding, and an uncapped run must
// equal, bit for bit, a run capped at the machine's best.
func TestCapabilityEnv(t *testing.T) {
	if out := os.Getenv(envCapOut); out != "" {
		b, err := json.Marshal(capChild{Capability: Capability(), Results: capWorkload()})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(out, b, 0o644))
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	hw := hwLevel()
	dir := t.TempDir()
	run := func(env string, set bool) (capChild, string) {
		out := filepath.Join(dir, "out.json")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCapabilityEnv$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCapOut+"="+out)
		if set {
			cmd.Env = append(cmd.Env, EnvCapability+"="+env)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		require.NoError(t, err, "child with %s=%q: %s%s", EnvCapability, env, b, stderr.Bytes())
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		var c capChild
		require.NoError(t, json.Unmarshal(data, &c))
		return c, stderr.String() + string(b)
	}

	best, msg := run("", false)
	assert.Equal(t, hw.String(), best.Capability)
	assert.NotContains(t, msg, EnvCapability)
	byLevel := map[string]capChild{}
	for _, l := range []isaLevel{levelGeneric, levelAVX2, levelAVX512} {
		c, msg := run(l.String(), true)
		want := min(l, hw)
		assert.Equal(t, want.String(), c.Capability, "capped at %s", l)
		if l > hw {
			assert.Contains(t, msg, "above what this CPU", "capped at %s", l)
		} else {
			assert.NotContains(t, msg, EnvCapability, "capped at %s", l)
			byLevel[l.String()] = c
		}
	}
	bogus, msg := run("avx9000", true)
	assert.Equal(t, hw.String(), bogus.Capability)
	assert.Contains(t, msg, "not one of")

	// The uncapped run is the run capped at the machine's best, bit for bit.
	assert.Equal(t, byLevel[hw.String()].Results, best.Results)
	assert.Equal(t, best.Results, bogus.Results)
	// Every capped run agrees with the generic one within rounding.
	gen := byLevel["generic"].Results
	for name, c := range byLevel {
		require.Len(t, c.Results, len(gen), name)
		for i := range gen {
			require.Len(t, c.Results[i], len(gen[i]), "%s result %d", name, i)
			for j, v := range gen[i] {
				if d := math.Abs(float64(c.Results[i][j] - v)); d > 1e-4*(1+math.Abs(float64(v))) {
					t.Fatalf("%s result %d [%d] = %v, generic %v", name, i, j, c.Results[i][j], v)
				}
			}
		}
	}
}

// capWorkload computes, from fixed inputs, a blocked GEMM, a GEMM on the dot
// path, and the forward, input gradient and weight gradient of two
// convolutions: 16 images (the direct kernels where there are any, the
// implicit GEMM otherwise) and 3 (im2col).
func capWorkload() [][]float32 {
	r := rand.New(rand.NewPCG(18, 2026))
	var res [][]float32
	m, n, k := 67, 45, 300
	a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	res = append(res, c)
	m, n, k = 5, 7, 1024
	a, b, c = randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
	Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	res = append(res, c)
	for _, n := range []int{16, 3} {
		g := ConvGeom{C: 8, H: 8, W: 8, KH: 3, KW: 3, PH: 1, PW: 1, SH: 1, SW: 1, DH: 1, DW: 1}
		g.Ho, g.Wo = OutSize(g.H, g.KH, 1, g.PH, 1), OutSize(g.W, g.KW, 1, g.PW, 1)
		o := 16
		x, w, gy := randSlice(r, n*g.C*g.H*g.W), randSlice(r, o*g.C*g.KH*g.KW), randSlice(r, n*o*g.Ho*g.Wo)
		y, dx, dw := make([]float32, n*o*g.Ho*g.Wo), make([]float32, len(x)), make([]float32, len(w))
		Conv2d(g, n, o, x, w, nil, y)
		Conv2dInputGrad(g, n, o, gy, w, dx)
		Conv2dWeightGrad(g, n, o, x, gy, dw)
		res = append(res, y, dx, dw)
	}
	return res
}
