package sources_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/gan"
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
		if m.Config.Classes > 0 {
			acc, _, err := sources.LabelAccuracy(m, name)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, acc, rec.LabelAccuracy-0.02, "%s: label accuracy; recorded %.3f", name, rec.LabelAccuracy)
		}
		x := m.Sampler().Sample(8, rngFor(name))
		assert.Equal(t, []int{8, 1, 32, 32}, x.Shape())
	}
}

func rngFor(name string) *rand.Rand { return rand.New(rand.NewPCG(uint64(len(name)), 7)) }

// LabelAccuracy refuses unconditional models and unknown names, and on a
// conditional model reports the classifier's accuracy on the held-out
// images, which must be high for the samples' figure to mean anything.
func TestLabelAccuracy(t *testing.T) {
	uncond, err := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 2}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	_, _, err = sources.LabelAccuracy(uncond, sources.NameMNIST)
	require.ErrorContains(t, err, "0 classes")
	cond, err := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 2, Classes: 10}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	_, _, err = sources.LabelAccuracy(cond, "cifar")
	require.ErrorContains(t, err, "cifar")
	for _, name := range []string{sources.NameMNISTConditional, sources.NameFashion} {
		fake, held, err := sources.LabelAccuracy(cond, name)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, held, 0.85, "%s: gantry-gray on the held-out images", name)
		t.Logf("%s: held-out %.3f, untrained generator %.3f", name, held, fake)
		assert.Less(t, fake, 0.5, "%s: an untrained generator", name)
	}
}
