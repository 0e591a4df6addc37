package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAsmGenerated checks that gemm_amd64.s and dconv_amd64.go are what
// asmgen writes now, so the generator and its output cannot drift apart.
func TestAsmGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	dir := t.TempDir()
	out, goOut := filepath.Join(dir, "gemm_amd64.s"), filepath.Join(dir, "dconv_amd64.go")
	msg, err := exec.Command(gobin, "run", "../cmd/asmgen", "-out", out, "-goout", goOut).CombinedOutput()
	require.NoError(t, err, "go run ../cmd/asmgen:\n%s", msg)
	for _, f := range []string{out, goOut} {
		want, err := os.ReadFile(f)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Base(f))
		require.NoError(t, err)
		// Not assert.Equal: its diff of two assembly files is no help.
		assert.True(t, bytes.Equal(got, want), "%s is stale: run go generate in internal/kernels", filepath.Base(f))
	}
}
