package gan_test

import (
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modes returns the training mode of every mode-switching layer of m.
func modes(m any) []bool {
	var out []bool
	for _, sub := range nn.Modules(m) {
		if t, ok := sub.(interface{ Training() bool }); ok {
			out = append(out, t.Training())
		}
	}
	return out
}

// EvalMode switches every layer to evaluation and its restore puts back the
// mode the network was in, training or not.
func TestEvalMode(t *testing.T) {
	g := gan.NewGenerator(gan.Config{Resolution: 16, Channels: 1, Width: 2}, rng(1))
	require.NotEmpty(t, modes(g), "the generator has batch norms")
	for _, was := range []bool{true, false} {
		nn.SetTraining(g, was)
		restore := gan.EvalMode(g)
		for i, m := range modes(g) {
			assert.False(t, m, "layer %d in the probe, from training=%v", i, was)
		}
		restore()
		for i, m := range modes(g) {
			assert.Equal(t, was, m, "layer %d restored", i)
		}
	}
}

// RandomLabels draws n labels in range for a conditional generator, the
// same from the same seed, and nothing for an unconditional one.
func TestRandomLabels(t *testing.T) {
	cond := gan.NewGenerator(gan.Config{Resolution: 16, Channels: 1, Width: 2, Classes: 3}, rng(1))
	labels := cond.RandomLabels(50, rng(4))
	require.Len(t, labels, 50)
	seen := map[int]bool{}
	for _, l := range labels {
		require.True(t, l >= 0 && l < 3, "label %d of 3 classes", l)
		seen[l] = true
	}
	assert.Len(t, seen, 3, "50 draws reach every class")
	assert.Equal(t, labels, cond.RandomLabels(50, rng(4)))

	plain := gan.NewGenerator(gan.Config{Resolution: 16, Channels: 1, Width: 2}, rng(1))
	r := rng(4)
	assert.Nil(t, plain.RandomLabels(50, r))
	assert.Equal(t, rng(4).Uint64(), r.Uint64(), "an unconditional generator draws nothing")
}
