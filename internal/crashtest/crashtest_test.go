package crashtest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checkpoints of these tests: a 256 KiB file of the byte i, written
// in two halves with a pause between them, so a kill often lands inside.
const size = 256 << 10

func payload(i int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }

// writeTorn writes checkpoint i in place, as a naive program would.
func writeTorn(path string, i int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	b := payload(i)
	f.Write(b[:size/2])
	time.Sleep(2 * time.Millisecond)
	f.Write(b[size/2:])
	return f.Close()
}

// writeAtomic writes checkpoint i to a temporary file and renames it.
func writeAtomic(path string, i int) error {
	tmp := path + ".tmp"
	if err := writeTorn(tmp, i); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func latest(path string) func() (int, error) {
	return func() (int, error) {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
		if len(b) != size || !bytes.Equal(b, payload(int(b[0]))) {
			return 0, fmt.Errorf("checkpoint of %d bytes is torn", len(b))
		}
		return int(b[0]), nil
	}
}

func TestAtomicWritesSurvive(t *testing.T) {
	path := filepath.Join(Dir(t), "ckpt")
	rep, err := Run(t, Config{Writes: 40, Seed: 1, Write: func(i int) error { return writeAtomic(path, i) }, Latest: latest(path)})
	t.Log(rep)
	require.NoError(t, err)
	assert.NotZero(t, rep.Kills, "kills in %v", rep)
	assert.NotZero(t, rep.MidWrite, "kills during writes in %v", rep)
}

// TestTornWritesCaught: the test does catch a writer that is not atomic.
func TestTornWritesCaught(t *testing.T) {
	path := filepath.Join(Dir(t), "ckpt")
	rep, err := Run(t, Config{Writes: 40, Seed: 2, Write: func(i int) error { return writeTorn(path, i) }, Latest: latest(path)})
	t.Log(rep, err)
	assert.ErrorContains(t, err, "torn", "Run: a torn checkpoint found")
}
