package gan_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/internal/crashtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveSurvivesKill writes 100 model files with gan.Save from child
// processes SIGKILLed at random points: after every kill the latest file
// loads (its checksum verified) and is the last one written or the one
// under way.
func TestSaveSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	path := filepath.Join(crashtest.Dir(t), "model.safetensors")
	m, err := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 4, ZDim: 16}, rng(1))
	require.NoError(t, err)
	// Checkpoint i is the model with its first tensor filled with i.
	first := m.StateDict().Keys()[0]
	rep, err := crashtest.Run(t, crashtest.Config{
		Writes: 100,
		Seed:   17,
		Write: func(i int) error {
			m.StateDict()[first].Fill(float32(i))
			return gan.Save(path, m)
		},
		Latest: func() (int, error) {
			back, err := gan.Load(path)
			if errors.Is(err, fs.ErrNotExist) {
				return -1, nil
			}
			if err != nil {
				return 0, err
			}
			v := back.StateDict()[first].Data()
			for _, x := range v {
				if x != v[0] {
					return 0, fmt.Errorf("%s holds %v and %v", first, v[0], x)
				}
			}
			return int(v[0]), nil
		},
	})
	t.Log(rep)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rep.Kills, 10, "kills in %v", rep)
}
