package optim_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

// FuzzLoadState reads arbitrary bytes as a saved optimizer state and loads
// it into an Adam over the toy module: reading or loading may fail, but
// never panics, and a refused state changes nothing. The seeds, in
// testdata/fuzz/FuzzLoadState, are states saved after a step, and edited.
func FuzzLoadState(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := optim.ReadState(bytes.NewReader(b))
		if err != nil {
			return
		}
		m := newToy(3)
		opt := optim.NewAdam(optim.Named(nn.Parameters(m)), optim.DefaultAdam())
		opt.ZeroGrad()
		m.backward(0)
		opt.Step()
		before := opt.State()
		if err := opt.LoadState(st); err != nil {
			if after := opt.State(); !reflect.DeepEqual(before.Steps, after.Steps) || !sameTensors(before.Tensors, after.Tensors) {
				t.Fatalf("a refused state (%v) changed the optimizer", err)
			}
			return
		}
		for name, n := range opt.State().Steps {
			if n < 0 || n > optim.MaxSteps {
				t.Fatalf("loaded step count %d for %s", n, name)
			}
		}
		opt.ZeroGrad()
		m.backward(1)
		opt.Step() // must not panic
	})
}

func sameTensors(a, b map[string]*tensor.Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !tensor.Equal(v, w) {
			return false
		}
	}
	return true
}
