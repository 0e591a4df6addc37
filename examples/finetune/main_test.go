package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/gan"
)

// The example as shipped, on a tiny budget and a tiny source.
func TestRun(t *testing.T) {
	m, err := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src.safetensors")
	if err := gan.Save(src, m); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	if err := run(context.Background(), config{source: src, out: out, iters: 2, n: 40}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "samples.png")); err != nil {
		t.Error(err)
	}
}
