package nn

import (
	"fmt"
	"io"
	"os"

	"github.com/gantry-go/gantry/internal/atomicfile"
)

// SaveFile writes sd and meta to the safetensors file at path, atomically:
// it writes a temporary file in the same directory, syncs it to disk and
// renames it over path, then syncs the directory; the file is created 0644
// (before the umask). If anything fails, the temporary file is removed and
// a previous file at path is left as it was.
func SaveFile(path string, sd State, meta map[string]string) error {
	err := atomicfile.WriteFile(path, func(w io.Writer) error { return Save(w, sd, meta) })
	if err != nil {
		return fmt.Errorf("nn: SaveFile %s: %w", path, err)
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
