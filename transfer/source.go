package transfer

import (
	"fmt"
	"os"
	"strings"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/sources"
)

// OpenSource returns the source model a spec names, as the command line
// takes it: "shipped:NAME" is a source shipped in the module (package
// sources), a folder is a run folder (its latest checkpoint), anything else
// a model or checkpoint file (gan.Load).
func OpenSource(spec string) (*gan.Model, error) {
	if strings.HasPrefix(spec, sources.Prefix) {
		return sources.Open(spec)
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("transfer: source %q: not a file, a run folder or shipped:NAME (%s): %w", spec, strings.Join(prefixed(sources.Names()), ", "), err)
	}
	path := spec
	if st.IsDir() {
		if path, err = gan.LatestCheckpoint(spec); err != nil {
			return nil, fmt.Errorf("transfer: source %q: %w", spec, err)
		}
	}
	return gan.Load(path)
}

func prefixed(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = sources.Prefix + n
	}
	return out
}
