package letters_test

import (
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/letters"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRender(t *testing.T) {
	a, err := letters.Render(78, 7)
	require.NoError(t, err)
	require.Equal(t, []int{1, 28, 28}, data.ImageShape(a))
	counts := make([]int, 26)
	for i := range a.Len() {
		counts[a.Label(i)]++
	}
	for k, c := range counts {
		assert.Equal(t, 3, c, "letter %s: images", letters.Classes[k])
	}
	assert.Equal(t, letters.Classes, data.Classes(a), "Classes")
	// Every image has ink and a black border, like MNIST.
	for i := range a.Len() {
		x := a.Image(i).Data()
		ink, edge := 0, 0
		for p, v := range x {
			if v > 0 {
				ink++
				if r, c := p/28, p%28; r == 0 || c == 0 || r == 27 || c == 27 {
					edge++
				}
			}
		}
		assert.GreaterOrEqual(t, ink, 20, "image %d (%s): inked pixels", i, letters.Classes[a.Label(i)])
		assert.Zero(t, edge, "image %d (%s): inked pixels on the border", i, letters.Classes[a.Label(i)])
	}
}

func TestSeeds(t *testing.T) {
	render := func(n int, seed uint64, opts ...data.Option) *data.Memory {
		t.Helper()
		m, err := letters.Render(n, seed, opts...)
		require.NoError(t, err)
		return m
	}
	a, b := render(52, 1), render(52, 1)
	assert.Equal(t, a.Images().Data(), b.Images().Data(), "the same seed gave different images")
	assert.NotEqual(t, a.Images().Data(), render(52, 2).Images().Data(), "different seeds gave the same images")
	assert.Equal(t, []int{1, 32, 32}, data.ImageShape(render(52, 2, data.Resolution(32))), "with Resolution(32): shape")
	_, err := letters.Eval()
	require.NoError(t, err)
}
