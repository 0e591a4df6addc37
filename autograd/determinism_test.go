package autograd

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeterministicAcrossWorkers runs the same double-backprop training
// steps with one and with several kernel workers: the seed alone must fix
// every number, whatever the machine's core count.
func TestDeterministicAcrossWorkers(t *testing.T) {
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r := rand.New(rand.NewPCG(9, 9))
		ps := newStepParams(r)
		var out []float32
		for range 5 {
			out = append(out, trainingStep(r, ps))
		}
		for _, p := range ps {
			out = append(out, p.Value.Data()...)
		}
		return out
	}
	one, many := run(1), run(4)
	require.Equal(t, one, many, "values with 1 worker (expected) and 4")
}
