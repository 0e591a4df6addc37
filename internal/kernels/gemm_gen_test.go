package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAsmGenerated checks that gemm_amd64.s is what asmgen writes now, so the
// generator and its output cannot drift apart.
func TestAsmGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out := filepath.Join(t.TempDir(), "gemm_amd64.s")
	if msg, err := exec.Command(gobin, "run", "asmgen/main.go", "-out", out).CombinedOutput(); err != nil {
		t.Fatalf("go run asmgen/main.go: %v\n%s", err, msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("gemm_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("gemm_amd64.s is stale: run go generate in internal/kernels")
	}
}
