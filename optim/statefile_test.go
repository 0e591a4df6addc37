package optim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			require.NoError(t, st.SaveFile(path))
			got, err := optim.ReadStateFile(path)
			require.NoError(t, err)
			assert.Equal(t, st.Version, got.Version)
			assert.Equal(t, st.Optimizer, got.Optimizer)
			assert.Equal(t, st.Steps, got.Steps)
			require.Len(t, got.Tensors, len(st.Tensors))
			for k, v := range st.Tensors {
				assert.True(t, tensor.Equal(got.Tensors[k], v), "tensor %q differs after the round trip", k)
			}
			assert.NoError(t, mk.make(optim.Named(nn.Parameters(newToy(1)))).LoadState(got))
		})
	}
}

func TestReadStateErrors(t *testing.T) {
	var noMeta bytes.Buffer
	require.NoError(t, nn.Save(&noMeta, nn.State{"w": tensor.Ones(1)}, nil))
	bad := &optim.State{Tensors: map[string]*tensor.Tensor{"exp_avg.w": nil}}
	assert.ErrorContains(t, bad.Save(&bytes.Buffer{}), `"exp_avg.w"`)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"not safetensors", []byte("garbage"), "invalid data"},
		{"no state metadata", noMeta.Bytes(), optim.MetaState},
	}
	for _, c := range cases {
		_, err := optim.ReadState(bytes.NewReader(c.in))
		assert.ErrorContains(t, err, c.want, c.name)
	}
	path := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.WriteFile(path, noMeta.Bytes(), 0o644))
	_, err := optim.ReadStateFile(path)
	assert.ErrorContains(t, err, path)
}
