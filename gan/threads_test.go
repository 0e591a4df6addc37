package gan_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrainingIdenticalAcrossThreads: the same seed gives byte-identical
// checkpoints, grids and stats (but for their timings) at 1, 2 and 4
// threads: every reduction in the kernels is ordered by the data, not by
// the number of workers.
func TestTrainingIdenticalAcrossThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three times")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cfg := gan.Config{Resolution: 16, Channels: 1, Width: 4, ZDim: 16}
	ds := tinyData(16, 0)
	files := []string{gan.CheckpointName(4), gan.GridName(0), gan.GridName(4)}
	var ref string
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		dir := t.TempDir()
		m, err := gan.New(cfg, rng(3))
		require.NoError(t, err)
		o := tinyOpts(dir, 4)
		o.BatchSize = 8
		_, err = gan.Train(context.Background(), m, ds, o)
		require.NoError(t, err)
		if ref == "" {
			ref = dir
			continue
		}
		for _, name := range files {
			want, err := os.ReadFile(filepath.Join(ref, name))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			assert.True(t, string(want) == string(got), "GOMAXPROCS %d: %s differs from the one written with 1", procs, name)
		}
		assert.Equal(t, readStats(t, ref), readStats(t, dir), "GOMAXPROCS %d: stats", procs)
	}
}
