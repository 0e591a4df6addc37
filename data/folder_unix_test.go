//go:build unix

package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImageFolderNotRegular: a named pipe, a socket-like special file or a
// folder with an image's name is skipped and recorded, never read (a pipe
// would block forever).
func TestImageFolderNotRegular(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	if err != nil {
		t.Fatal(err)
	}
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
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ImageFolder blocked on a named pipe")
	}
	if m.Len() != 1 || len(m.Skipped()) != 1 || !strings.Contains(m.Skipped()[0].Error(), "x.png: not a regular file") {
		t.Errorf("%d images, skipped %v; want 1 and x.png as not a regular file", m.Len(), m.Skipped())
	}
	if _, err := ImageFolder(dir, Strict()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Strict: err = %v; want x.png as not a regular file", err)
	}
}

// TestImageFolderSymlinks: a linked root reads as the folder itself; linked
// class folders are classes like the others; a link loop and a broken link
// are reported, never dropped in silence.
func TestImageFolderSymlinks(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	if err != nil {
		t.Fatal(err)
	}
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
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if want := []string{"ant", "bee", "cat"}; !slices.Equal(m.Classes(), want) {
			t.Errorf("%s: classes %v; want %v", dir, m.Classes(), want)
		}
		if want := []int{0, 1, 2, 2, 2}; !slices.Equal(m.Labels(), want) {
			t.Errorf("%s: labels %v; want %v", dir, m.Labels(), want)
		}
	}

	link(filepath.Join(base, "missing.png"), filepath.Join(real, "ant", "broken.png"))
	m, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if sk := m.Skipped(); len(sk) != 1 || !strings.Contains(sk[0].Error(), "broken.png: broken symbolic link") {
		t.Errorf("skipped %v; want the broken link", sk)
	}

	link(real, filepath.Join(real, "cat", "loop"))
	_, err = ImageFolder(root)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != filepath.Join(root, "cat", "loop") || !strings.Contains(err.Error(), "symbolic link loop") {
		t.Errorf("loop: err = %v; want a FileError for cat/loop", err)
	}
}
