//go:build unix

package data

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageFolderNotRegular: a named pipe, a socket-like special file or a
// folder with an image's name is skipped and recorded, never read (a pipe
// would block forever).
func TestImageFolderNotRegular(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	require.NoError(t, err)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), raw)
	if err := syscall.Mkfifo(filepath.Join(dir, "x.png"), 0o644); err != nil {
		t.Skip("no named pipes here:", err)
	}
	done := make(chan error, 1)
	var m *Memory
	go func() {
		var err error
		m, err = ImageFolder(dir)
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		require.FailNow(t, "ImageFolder blocked on a named pipe")
	}
	assert.Equal(t, 1, m.Len(), "images")
	if assert.Len(t, m.Skipped(), 1, "skipped") {
		assert.ErrorContains(t, m.Skipped()[0], "x.png: not a regular file")
	}
	_, err = ImageFolder(dir, Strict())
	assert.ErrorContains(t, err, "not a regular file", "Strict")
}

// TestImageFolderSymlinks: a linked root reads as the folder itself; linked
// class folders are classes like the others; a link loop and a broken link
// are reported, never dropped in silence.
func TestImageFolderSymlinks(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	require.NoError(t, err)
	base := t.TempDir()
	real := filepath.Join(base, "real")
	elsewhere := filepath.Join(base, "elsewhere")
	for _, p := range []string{"ant/1.png", "cat/2.png", "cat/3.png"} {
		writeFile(t, filepath.Join(real, p), raw)
	}
	writeFile(t, filepath.Join(elsewhere, "bee", "4.png"), raw)
	writeFile(t, filepath.Join(elsewhere, "5.png"), raw)
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, name); err != nil {
			t.Skip("no symbolic links here:", err)
		}
	}
	link(filepath.Join(elsewhere, "bee"), filepath.Join(real, "bee")) // a linked class
	link(filepath.Join(elsewhere, "5.png"), filepath.Join(real, "cat", "5.png"))
	root := filepath.Join(base, "root")
	link(real, root)

	for _, dir := range []string{real, root, root + "/"} {
		m, err := ImageFolder(dir)
		require.NoError(t, err, "%s", dir)
		assert.Equal(t, []string{"ant", "bee", "cat"}, m.Classes(), "%s: classes", dir)
		assert.Equal(t, []int{0, 1, 2, 2, 2}, m.Labels(), "%s: labels", dir)
	}

	link(filepath.Join(base, "missing.png"), filepath.Join(real, "ant", "broken.png"))
	m, err := ImageFolder(root)
	require.NoError(t, err)
	if sk := m.Skipped(); assert.Len(t, sk, 1, "skipped: the broken link") {
		assert.ErrorContains(t, sk[0], "broken.png: broken symbolic link")
	}

	link(real, filepath.Join(real, "cat", "loop"))
	_, err = ImageFolder(root)
	var fe *FileError
	if assert.ErrorAs(t, err, &fe, "loop") {
		assert.Equal(t, filepath.Join(root, "cat", "loop"), fe.Path, "loop")
		assert.ErrorContains(t, err, "symbolic link loop")
	}
}
