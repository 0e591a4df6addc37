package gan

import (
	"io"

	"github.com/gantry-go/gantry/internal/atomicfile"
)

// writeAtomic writes data to path through the one atomic-write path.
func writeAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
