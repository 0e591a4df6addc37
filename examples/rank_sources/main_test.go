package main

import (
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/transfer"
	"github.com/stretchr/testify/require"
)

// The example as shipped, with two tiny random sources.
func TestRun(t *testing.T) {
	var cands []transfer.Candidate
	for i, name := range []string{"a", "b"} {
		m, err := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 2}, rand.New(rand.NewPCG(uint64(i), 2)))
		require.NoError(t, err)
		cands = append(cands, transfer.Candidate{Name: name, Model: m})
	}
	require.NoError(t, run(20, cands))
}
