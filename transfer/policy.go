package transfer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// Frozen reports whether the freeze policies of o keep the parameter with
// the given file name ("d.blocks.0.conv1.weight") fixed at iteration it.
func (o Options) Frozen(name string, it int) bool {
	for _, u := range o.Unfreeze {
		if it >= u.At && strings.HasPrefix(name, u.Prefix) {
			return false
		}
	}
	if rest, ok := strings.CutPrefix(name, gan.PrefixD); ok {
		if o.FreezeD > 0 && strings.HasPrefix(rest, "input.") {
			return true
		}
		for b := range o.FreezeD {
			if strings.HasPrefix(rest, fmt.Sprintf("blocks.%d.", b)) {
				return true
			}
		}
		return false
	}
	rest, ok := strings.CutPrefix(name, gan.PrefixG)
	if !ok {
		return false
	}
	for _, b := range o.FreezeG {
		if strings.HasPrefix(rest, fmt.Sprintf("blocks.%d.", b)) {
			return true
		}
	}
	return o.NormOnly && !isNorm(rest)
}

// isNorm reports whether a parameter name belongs to a normalisation layer
// ("blocks.0.norm1.weight", "norm.bias").
func isNorm(name string) bool {
	parts := strings.Split(name, ".")
	for _, p := range parts[:len(parts)-1] {
		if p == "norm" || p == "norm1" || p == "norm2" {
			return true
		}
	}
	return false
}

// applyFreeze freezes or unfreezes every parameter of m as o says for
// iteration it.
func applyFreeze(m *gan.Model, o Options, it int) {
	for _, part := range []struct {
		prefix string
		net    any
	}{{gan.PrefixG, m.G}, {gan.PrefixD, m.D}} {
		for name, p := range nn.Parameters(part.net) {
			if o.Frozen(part.prefix+name, it) {
				p.Freeze()
			} else {
				p.Unfreeze()
			}
		}
	}
}

// lrScale returns the learning-rate multiplier of a parameter: the value of
// the longest key of mult that prefixes its name, or 1.
func lrScale(mult map[string]float64) func(string) float64 {
	keys := slices.Sorted(mapKeys(mult))
	slices.SortStableFunc(keys, func(a, b string) int { return len(b) - len(a) })
	return func(name string) float64 {
		for _, k := range keys {
			if strings.HasPrefix(name, k) {
				return mult[k]
			}
		}
		return 1
	}
}

// Fisher returns the diagonal Fisher information of a generator's
// parameters as elastic weight consolidation uses it for GANs (Li et al.
// 2020), with the critic's output as the likelihood:
//
//	F_i = (1/B) Σ_b (∂/∂θ_i mean_{z in batch b} log σ(D(G(z))))²
//
// over batches batches of batchSize latent vectors drawn from r. Keys are
// the generator's parameter names. Neither network is changed: the
// generator runs without updating its running statistics.
//
// It panics if batches or batchSize is below 1 or r is nil.
func Fisher(g *gan.Generator, d *gan.Critic, batches, batchSize int, r *rand.Rand) map[string]*tensor.Tensor {
	if batches < 1 || batchSize < 1 || r == nil {
		panic(fmt.Sprintf("transfer: Fisher: %d batches of %d, r=%v; want at least 1 each and a *rand.Rand", batches, batchSize, r))
	}
	var names []string
	var vars []*autograd.Var
	for name, p := range nn.Parameters(g) {
		names = append(names, name)
		vars = append(vars, p.Var)
	}
	out := make(map[string]*tensor.Tensor, len(names))
	for i, v := range vars {
		out[names[i]] = tensor.New(v.Value.Shape()...)
	}
	defer gan.EvalMode(g)()
	for range batches {
		z := autograd.Const(tensor.RandN(r, batchSize, g.Config.ZDim))
		labels := g.RandomLabels(batchSize, r)
		ll := autograd.MeanAll(autograd.Neg(autograd.Softplus(autograd.Neg(d.Forward(g.ForwardLabels(z, labels))))))
		grads := autograd.Grad(ll, vars)
		for i, gr := range grads {
			if gr == nil {
				continue
			}
			acc := out[names[i]].Data()
			for j, x := range gr.Value.Data() {
				acc[j] += x * x / float32(batches)
			}
		}
	}
	return out
}

// penalty returns the L2-SP and EWC terms of network net ("g" or "d") for
// the parameters of m: α/2·Σ‖θ − θ_src‖² and λ·Σ F(θ − θ_src)², or nil when
// neither applies.
func penalty(m *gan.Model, net string, anchors, fisher map[string]*tensor.Tensor, o Options) *autograd.Var {
	prefix, mod := gan.PrefixG, any(m.G)
	if net == "d" {
		prefix, mod = gan.PrefixD, any(m.D)
	}
	var total *autograd.Var
	add := func(v *autograd.Var) {
		if total == nil {
			total = v
		} else {
			total = autograd.Add(total, v)
		}
	}
	for name, p := range nn.Parameters(mod) {
		a, ok := anchors[prefix+name]
		if !ok || p.Frozen() {
			continue
		}
		diff := autograd.Sub(p.Var, autograd.Const(a))
		sq := autograd.Square(diff)
		if o.L2SP > 0 {
			add(autograd.Scale(autograd.Sum(sq, false), float32(o.L2SP/2)))
		}
		if f, ok := fisher[name]; ok && net == "g" && o.EWC > 0 {
			add(autograd.Scale(autograd.Sum(autograd.Mul(autograd.Const(f), sq), false), float32(o.EWC)))
		}
	}
	return total
}
