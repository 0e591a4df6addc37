package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
	if msg, err := exec.Command(gobin, "run", "../cmd/asmgen", "-out", out, "-goout", goOut).CombinedOutput(); err != nil {
		t.Fatalf("go run ../cmd/asmgen: %v\n%s", err, msg)
	}
	for _, f := range []string{out, goOut} {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate in internal/kernels", filepath.Base(f))
		}
	}
}
