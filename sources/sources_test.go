package sources_test

import (
	"errors"
	"testing"

	"github.com/gantry-go/gantry/sources"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenUnknown(t *testing.T) {
	_, err := sources.Open("shipped:cifar")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mnist, fashion, mnist-cond")
}

// Every known source either loads, samples and makes 32×32 gray images, or
// reports plainly that it is not shipped yet.
func TestOpenEach(t *testing.T) {
	for _, name := range sources.Names() {
		m, err := sources.Open(sources.Prefix + name)
		if errors.Is(err, sources.ErrNotShipped) {
			t.Logf("%s: %v", name, err)
			continue
		}
		require.NoError(t, err, name)
		assert.Equal(t, 32, m.Config.Resolution)
		assert.Equal(t, 1, m.Config.Channels)
	}
}
