package optim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/gantry-go/gantry/internal/atomicfile"
	"github.com/gantry-go/gantry/internal/safetensors"
	"github.com/gantry-go/gantry/tensor"
)

// MetaState is the safetensors metadata key under which Save stores a
// State's Version, Optimizer and Steps as JSON; the tensors are stored
// under their own names.
const MetaState = "optim.state"

// Save writes st to w as a safetensors stream: every tensor of st.Tensors
// under its name (float32, in name order) and the rest as JSON under the
// metadata key MetaState. It returns an error naming the key for a nil
// tensor or a name the format cannot hold, and otherwise w's error.
func (st *State) Save(w io.Writer) error {
	meta, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("optim: State.Save: %w", err)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range st.Tensors {
			if !yield(k) {
				return
			}
		}
	})
	ts := make([]safetensors.Tensor[float32], len(names))
	for i, k := range names {
		t := st.Tensors[k]
		if t == nil {
			return fmt.Errorf("optim: State.Save: tensor %q is nil", k)
		}
		ts[i] = safetensors.Tensor[float32]{Name: k, Shape: t.Shape(), Data: t.Data()}
	}
	if err := safetensors.Write(w, ts, map[string]string{MetaState: string(meta)}); err != nil {
		return fmt.Errorf("optim: State.Save: %w", err)
	}
	return nil
}

// SaveFile writes st to the file at path atomically (see nn.SaveFile: a
// failed write leaves a previous file intact). Errors name path.
func (st *State) SaveFile(path string) error {
	if err := atomicfile.WriteFile(path, st.Save); err != nil {
		return fmt.Errorf("optim: State.SaveFile %s: %w", path, err)
	}
	return nil
}

// ReadState reads a State written by State.Save. It checks the stream as
// nn.Load does and that the metadata holds a State; whether the State fits
// an optimizer is LoadState's to check.
func ReadState(r io.Reader) (*State, error) {
	st, err := readState(r)
	if err != nil {
		return nil, fmt.Errorf("optim: ReadState: %w", err)
	}
	return st, nil
}

func readState(r io.Reader) (*State, error) {
	ts, meta, err := safetensors.Read[float32](r)
	if err != nil {
		return nil, err
	}
	js, ok := meta[MetaState]
	if !ok {
		return nil, fmt.Errorf("metadata has no %q", MetaState)
	}
	st := &State{}
	if err := json.Unmarshal([]byte(js), st); err != nil {
		return nil, fmt.Errorf("metadata %q: %w", MetaState, err)
	}
	st.Tensors = make(map[string]*tensor.Tensor, len(ts))
	for _, t := range ts {
		st.Tensors[t.Name] = tensor.FromSlice(t.Data, t.Shape...)
	}
	return st, nil
}

// ReadStateFile reads the State in the file at path (see ReadState).
// Errors name path.
func ReadStateFile(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("optim: ReadStateFile: %w", err)
	}
	defer f.Close()
	st, err := readState(f)
	if err != nil {
		return nil, fmt.Errorf("optim: ReadStateFile %s: %w", path, err)
	}
	return st, nil
}
