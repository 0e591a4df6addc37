package sources_test

import (
	"errors"
	"math/rand/v2"
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

// Every shipped source still measures as it did when it shipped: its FID
// against the held-out test images is at most the recorded value plus 2%
// (room for kernel changes that move the last bits of the arithmetic).
func TestShippedFID(t *testing.T) {
	for _, name := range sources.Names() {
		rec, err := sources.Recorded(name)
		if errors.Is(err, sources.ErrNotShipped) {
			continue
		}
		require.NoError(t, err)
		m, err := sources.Open(name)
		require.NoError(t, err)
		rep, err := sources.Evaluate(m, name)
		require.NoError(t, err)
		assert.LessOrEqual(t, rep.FID.Value, rec.FID*1.02, "%s: %s; recorded %.3f", name, rep.FID, rec.FID)
		x := m.Sampler().Sample(8, rngFor(name))
		assert.Equal(t, []int{8, 1, 32, 32}, x.Shape())
	}
}

func rngFor(name string) *rand.Rand { return rand.New(rand.NewPCG(uint64(len(name)), 7)) }
