package transfer

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// streamInit is the random stream of a fine-tuning's new weights.
const streamInit = 0x7472_616e_7366_0001

// Target returns the model a fine-tuning starts from: the source's
// architecture (made conditional when o.Classes > 0) with the networks that
// o.Init names copied from src, and fresh weights, drawn from o.Seed,
// elsewhere. The generator taken from the source is its sampler (the EMA
// when it has one). Neither src nor its tensors are changed or shared.
//
// A conditional target from an unconditional source follows the paper's
// section 5: every class's conditional batch-norm scale and offset start as
// copies of the source's batch norm; with gan.CondConcat the weights of the
// label inputs of the first layer start random; the critic gets a new,
// random class head. It returns an error for invalid options or a
// conditional source whose classes differ from o.Classes.
func Target(src *gan.Model, o Options) (*gan.Model, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	cfg := src.Config
	switch {
	case o.Classes > 0 && src.Config.Classes == 0:
		cfg.Classes, cfg.Conditioning = o.Classes, o.Conditioning
	case o.Classes > 0 && (src.Config.Classes != o.Classes || src.Config.Conditioning != o.Conditioning):
		return nil, fmt.Errorf("transfer: the source is conditional with %d classes (%s); the options ask for %d (%s)",
			src.Config.Classes, src.Config.Conditioning, o.Classes, o.Conditioning)
	}
	m, err := gan.New(cfg, rand.New(rand.NewPCG(o.Seed, streamInit)))
	if err != nil {
		return nil, err
	}
	if o.Init == InitBoth || o.Init == InitG {
		if err := copyInto(m.G, src.Sampler(), "generator"); err != nil {
			return nil, err
		}
	}
	if o.Init == InitBoth || o.Init == InitD {
		if err := copyInto(m.D, src.D, "critic"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// copyInto copies every tensor of src's state into dst's: equal shapes are
// copied; a source vector [C] into a table [K, C] is tiled to every row (a
// batch norm becoming conditional); a source matrix [O, I] into [O, I+K]
// fills the first I columns (z gaining a one-hot label). Tensors of dst that
// src lacks (a new class head) keep their values.
func copyInto(dst, src any, what string) error {
	ds, ss := nn.StateDict(dst), nn.StateDict(src)
	for name, s := range ss {
		d, ok := ds[name]
		if !ok {
			return fmt.Errorf("transfer: the source %s has %s, which the target lacks", what, name)
		}
		sh, dh := s.Shape(), d.Shape()
		switch {
		case slices.Equal(sh, dh):
			d.CopyFrom(s)
		case len(sh) == 1 && len(dh) == 2 && dh[1] == sh[0]:
			for k := range dh[0] {
				copy(d.Data()[k*sh[0]:(k+1)*sh[0]], s.Data())
			}
		case len(sh) == 2 && len(dh) == 2 && dh[0] == sh[0] && dh[1] > sh[1]:
			for r := range sh[0] {
				copy(d.Data()[r*dh[1]:r*dh[1]+sh[1]], s.Data()[r*sh[1]:(r+1)*sh[1]])
			}
		default:
			return fmt.Errorf("transfer: %s %s is %v in the source and %v in the target", what, name, sh, dh)
		}
	}
	return nil
}

// sourceValues returns copies of the source's values of every parameter of
// the target that was taken from the source, by file name: the anchors of
// L2-SP and EWC. Parameters new in the target (a class head) or whose shape
// changed are left out.
func sourceValues(src, target *gan.Model, o Options) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	add := func(prefix string, s, t any) {
		ss := nn.StateDict(s)
		for name, p := range nn.Parameters(t) {
			if v, ok := ss[name]; ok && v.SameShape(p.Value) {
				out[prefix+name] = v.Clone()
			}
		}
	}
	if o.Init == InitBoth || o.Init == InitG {
		add(gan.PrefixG, src.Sampler(), target.G)
	}
	if o.Init == InitBoth || o.Init == InitD {
		add(gan.PrefixD, src.D, target.D)
	}
	return out
}
