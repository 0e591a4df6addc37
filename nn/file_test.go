package nn_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
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
		var buf bytes.Buffer
		if err := nn.Save(&buf, c.sd, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Save = %v; want an error naming %s", c.name, err, c.want)
		}
	}
}

func TestLoadRejectsElementCountOverflow(t *testing.T) {
	in := craft(`{"a":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}`, nil)
	_, _, err := nn.Load(bytes.NewReader(in))
	if err == nil || !errors.Is(err, nn.ErrFormat) || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("Load of shape [0, 2^62, 4] = %v; want ErrFormat naming the key", err)
	}
}
