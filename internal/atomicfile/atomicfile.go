// Package atomicfile writes files so that a reader, or the next run after a
// crash, sees either the previous file or the complete new one, never a
// part: the one write path for every file gantry saves (checkpoints, state
// dicts, reference statistics).
//
// WriteFile writes to a temporary file in the destination's directory (a
// rename is atomic only within one file system), syncs it, renames it over
// the destination and syncs the directory, so the rename itself survives a
// power cut. Files are created 0644 (before the umask), as os.Create does.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Perm is the permission WriteFile gives a new file.
const Perm os.FileMode = 0o644

// WriteFile calls write with a temporary file in path's directory and,
// when write returns nil, syncs the file and renames it over path. On any
// error the temporary file is closed and removed and a previous file at
// path is left as it was; the error is returned as it came (from write or
// from the operating system), for the caller to wrap with its package and
// the path.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(Perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Not every system can sync a
// directory (Windows cannot open one for it); the file itself is already
// synced, so a failure here is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// WriteBytes writes data to path atomically, as WriteFile does.
func WriteBytes(path string, data []byte) error {
	return WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
