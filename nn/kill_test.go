package nn_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/internal/crashtest"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveFileSurvivesKill writes 100 checkpoints of 1 MB with SaveFile
// from child processes SIGKILLed at random points: after every kill the
// latest checkpoint loads, whole, and is the last one written or the one
// under way.
func TestSaveFileSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	dir := crashtest.Dir(t)
	path := filepath.Join(dir, "ckpt.safetensors")
	const n = 1 << 18
	rep, err := crashtest.Run(t, crashtest.Config{
		Writes: 100,
		Seed:   16,
		Write: func(i int) error {
			sd := nn.State{"w": tensor.Full(float32(i), n), "step": tensor.Scalar(float32(i))}
			return nn.SaveFile(path, sd, map[string]string{"step": strconv.Itoa(i)})
		},
		Latest: func() (int, error) {
			sd, meta, err := nn.LoadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return -1, nil
			}
			if err != nil {
				return 0, err
			}
			i, err := strconv.Atoi(meta["step"])
			if err != nil {
				return 0, fmt.Errorf("metadata step %q: %v", meta["step"], err)
			}
			w := sd["w"]
			if w == nil || w.Len() != n || sd["step"] == nil || sd["step"].Item() != float32(i) {
				return 0, fmt.Errorf("checkpoint %d does not hold its tensors", i)
			}
			for _, v := range w.Data() {
				if v != float32(i) {
					return 0, fmt.Errorf("checkpoint %d holds %v", i, v)
				}
			}
			return i, nil
		},
	})
	t.Log(rep)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, rep.Kills, 10, "kills in %v", rep)
	ents, _ := os.ReadDir(dir)
	var tmp []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			tmp = append(tmp, e.Name())
		}
	}
	t.Logf("%d temporary files left by kills", len(tmp))
}
