package nn_test

import (
	"bytes"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

// Save must neither rename a key nor write a file its own Load refuses.
func TestSaveRefusesWhatLoadRefuses(t *testing.T) {
	cases := []struct {
		name string
		sd   nn.State
		want string
	}{
		{"non-UTF-8 name", nn.State{"g.w\xff": tensor.Ones(2)}, `"g.w\xff"`},
		{"rank over the bound", nn.State{"deep": tensor.Ones(1, 1, 1, 1, 1, 1, 1, 1, 1)}, `"deep"`},
	}
	for _, c := range cases {
		err := nn.Save(&bytes.Buffer{}, c.sd, nil)
		assert.ErrorContains(t, err, c.want, c.name)
	}
}

func TestLoadRejectsElementCountOverflow(t *testing.T) {
	in := craft(`{"a":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}`, nil)
	_, _, err := nn.Load(bytes.NewReader(in))
	assert.ErrorIs(t, err, nn.ErrFormat)
	assert.ErrorContains(t, err, `"a"`)
}
