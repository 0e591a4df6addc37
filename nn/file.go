package nn

import (
	"fmt"
	"os"
	"path/filepath"
)

// SaveFile writes sd and meta to the safetensors file at path, atomically:
// it writes a temporary file in the same directory, syncs it to disk and
// renames it over path. If anything fails, the temporary file is removed and
// a previous file at path is left as it was.
func SaveFile(path string, sd State, meta map[string]string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("nn: SaveFile %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("nn: SaveFile %s: %w", path, err)
		}
	}()
	if err = Save(f, sd, meta); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
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
	// Make the rename itself durable; not every system can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// LoadFile reads the safetensors file at path (see Load). Errors name the
// file.
func LoadFile(path string) (State, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: LoadFile: %w", err)
	}
	defer f.Close()
	sd, meta, err := Load(f)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: LoadFile %s: %w", path, err)
	}
	return sd, meta, nil
}
