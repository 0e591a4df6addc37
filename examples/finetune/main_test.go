package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example as shipped, on a tiny budget and a tiny source.
func TestRun(t *testing.T) {
	m, err := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 2}, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	src := filepath.Join(t.TempDir(), "src.safetensors")
	require.NoError(t, gan.Save(src, m))
	out := filepath.Join(t.TempDir(), "run")
	require.NoError(t, run(context.Background(), config{source: src, out: out, iters: 2, n: 40}))
	assert.FileExists(t, filepath.Join(out, "samples.png"))
}
