package gan

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/augment"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/optim"
)

// MetaTrainer holds a checkpoint's trainer state as JSON.
const MetaTrainer = "gan.trainer"

// Tensor-name prefixes of the optimizers' state in a checkpoint.
const (
	prefixOptG = "opt_g."
	prefixOptD = "opt_d."
)

// trainerState is everything beyond the model that a resume needs.
type trainerState struct {
	Iteration     int              `json:"iteration"`
	RNG           []byte           `json:"rng"`
	LoaderRNG     []byte           `json:"loader_rng"`
	Loader        data.LoaderState `json:"loader"`
	OptG          *optim.State     `json:"opt_g"`
	OptD          *optim.State     `json:"opt_d"`
	ADA           *augment.ADA     `json:"ada,omitempty"`
	Acc           accum            `json:"acc"`
	Best          *float64         `json:"best,omitempty"`
	BestIteration int              `json:"best_iteration,omitempty"`
	Options       json.RawMessage  `json:"options"`
}

// checkpoint is a checkpoint read back.
type checkpoint struct {
	path    string
	model   *Model
	state   trainerState
	options json.RawMessage
	tensors nn.State // the optimizers'
}

func readCheckpoint(path string) (*checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, rest, meta, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raw, ok := meta[MetaTrainer]
	if !ok {
		return nil, fmt.Errorf("%s: not a trainer checkpoint (no %s metadata)", path, MetaTrainer)
	}
	c := &checkpoint{path: path, model: m, tensors: rest}
	if err := json.Unmarshal([]byte(raw), &c.state); err != nil {
		return nil, fmt.Errorf("%s: trainer state: %w", path, err)
	}
	if c.state.OptG == nil || c.state.OptD == nil || c.state.Iteration < 0 {
		return nil, fmt.Errorf("%s: trainer state incomplete", path)
	}
	c.options = c.state.Options
	return c, nil
}

// checkpoint writes the trainer's state after t.it iterations and removes
// all but the newest KeepCheckpoints checkpoints.
func (t *Trainer) checkpoint() error {
	st := trainerState{Iteration: t.it, Acc: t.acc, ADA: t.ada, Best: t.best, BestIteration: t.bestI}
	var err error
	if st.RNG, err = t.pcg.MarshalBinary(); err != nil {
		return err
	}
	if st.LoaderRNG, err = t.lpcg.MarshalBinary(); err != nil {
		return err
	}
	st.Loader = t.ld.State()
	st.OptG, st.OptD = t.optG.State(), t.optD.State()
	if st.Options, err = json.Marshal(t.o); err != nil {
		return err
	}
	extra := nn.State{}
	for k, v := range st.OptG.Tensors {
		extra[prefixOptG+k] = v
	}
	for k, v := range st.OptD.Tensors {
		extra[prefixOptD+k] = v
	}
	js, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sd, md, err := encode(t.m, "checkpoint", extra, map[string]string{MetaTrainer: string(js)})
	if err != nil {
		return err
	}
	path := t.run.path(CheckpointName(t.it))
	if err := nn.SaveFile(path, sd, md); err != nil {
		return fmt.Errorf("gan: checkpoint: %w", err)
	}
	t.last = path
	t.run.logf("checkpoint %s: model sha256 %s", filepath.Base(path), Checksum(t.m.StateDict()))
	its, err := checkpoints(t.run.dir)
	if err != nil {
		return err
	}
	for len(its) > t.o.KeepCheckpoints {
		if its[0] != t.it {
			os.Remove(filepath.Join(t.run.dir, CheckpointName(its[0])))
		}
		its = its[1:]
	}
	return nil
}

// restore puts a checkpoint's trainer state into t (whose model is already
// the checkpoint's).
func (t *Trainer) restore(ck *checkpoint) error {
	s := ck.state
	og, od := *s.OptG, *s.OptD
	og.Tensors, od.Tensors = ck.tensors.WithPrefix(prefixOptG), ck.tensors.WithPrefix(prefixOptD)
	if err := t.optG.LoadState(&og); err != nil {
		return err
	}
	if err := t.optD.LoadState(&od); err != nil {
		return err
	}
	if err := t.pcg.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("random state: %w", err)
	}
	if err := t.lpcg.UnmarshalBinary(s.LoaderRNG); err != nil {
		return fmt.Errorf("loader random state: %w", err)
	}
	if err := t.ld.SetState(s.Loader); err != nil {
		return err
	}
	if t.ada != nil {
		if s.ADA == nil {
			return fmt.Errorf("no ADA state")
		}
		*t.ada = *s.ADA
	}
	t.it, t.acc, t.best, t.bestI = s.Iteration, s.Acc, s.Best, s.BestIteration
	t.resumed = true
	return nil
}
