package optim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
)

func TestStateFileRoundTrip(t *testing.T) {
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			m := newToy(1)
			opt := mk.make(optim.Named(nn.Parameters(m)))
			for k := range 3 {
				opt.ZeroGrad()
				m.backward(k)
				opt.Step()
			}
			st := opt.State()
			path := filepath.Join(t.TempDir(), "opt.safetensors")
			if err := st.SaveFile(path); err != nil {
				t.Fatal(err)
			}
			got, err := optim.ReadStateFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != st.Version || got.Optimizer != st.Optimizer || !reflect.DeepEqual(got.Steps, st.Steps) || len(got.Tensors) != len(st.Tensors) {
				t.Fatalf("ReadStateFile = %+v; want %+v", got, st)
			}
			for k, v := range st.Tensors {
				if !tensor.Equal(got.Tensors[k], v) {
					t.Errorf("tensor %q differs after the round trip", k)
				}
			}
			if err := mk.make(optim.Named(nn.Parameters(newToy(1)))).LoadState(got); err != nil {
				t.Errorf("LoadState of the read state: %v", err)
			}
		})
	}
}

func TestReadStateErrors(t *testing.T) {
	var noMeta bytes.Buffer
	if err := nn.Save(&noMeta, nn.State{"w": tensor.Ones(1)}, nil); err != nil {
		t.Fatal(err)
	}
	bad := &optim.State{Tensors: map[string]*tensor.Tensor{"exp_avg.w": nil}}
	if err := bad.Save(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `"exp_avg.w"`) {
		t.Errorf("Save of a nil tensor = %v; want an error naming it", err)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"not safetensors", []byte("garbage"), "invalid data"},
		{"no state metadata", noMeta.Bytes(), optim.MetaState},
	}
	for _, c := range cases {
		if _, err := optim.ReadState(bytes.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ReadState = %v; want an error mentioning %q", c.name, err, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "x")
	os.WriteFile(path, noMeta.Bytes(), 0o644)
	if _, err := optim.ReadStateFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadStateFile = %v; want an error naming %s", err, path)
	}
}
