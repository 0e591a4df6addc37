package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	contents := func() string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
	require.NoError(t, WriteFile(path, write("first")))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, Perm&^umask(t), st.Mode().Perm())

	boom := errors.New("boom")
	err = WriteFile(path, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "first", contents(), "a failed write keeps the previous file")
	ents, _ := os.ReadDir(dir)
	assert.Len(t, ents, 1, "temporary files left behind")

	require.NoError(t, WriteFile(path, write("second")))
	assert.Equal(t, "second", contents())
	assert.Error(t, WriteFile(filepath.Join(dir, "no", "dir", "f"), write("x")))
}

// umask returns the process umask, measured with a file.
func umask(t *testing.T) os.FileMode {
	p := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o777)
	require.NoError(t, err)
	f.Close()
	st, err := os.Stat(p)
	require.NoError(t, err)
	return 0o777 &^ st.Mode().Perm()
}
