package optim

import (
	"iter"
	"strings"

	"github.com/gantry-go/gantry/nn"
)

// NamedParam is a parameter with the dotted name it is known by, such as
// "g.blocks.0.conv1.weight". The name keys the optimizer's state.
type NamedParam struct {
	Name  string
	Param *nn.Param
}

// Named collects the name and parameter pairs of seq, typically
// nn.Parameters(m), into a slice.
func Named(seq iter.Seq2[string, *nn.Param]) []NamedParam {
	var ps []NamedParam
	for name, p := range seq {
		ps = append(ps, NamedParam{Name: name, Param: p})
	}
	return ps
}

// Prefixed returns the parameters of seq with prefix put before each name
// (joined by a dot), for optimizing several modules with one optimizer:
// Prefixed("g", nn.Parameters(gen)) names "g.blocks.0.conv1.weight".
func Prefixed(prefix string, seq iter.Seq2[string, *nn.Param]) []NamedParam {
	ps := Named(seq)
	if prefix == "" {
		return ps
	}
	for i := range ps {
		ps[i].Name = prefix + "." + ps[i].Name
	}
	return ps
}

// Filter returns the parameters of ps whose names keep reports true, in
// order. Use it to split a model into groups.
func Filter(ps []NamedParam, keep func(name string) bool) []NamedParam {
	var out []NamedParam
	for _, np := range ps {
		if keep(np.Name) {
			out = append(out, np)
		}
	}
	return out
}

// HasPrefix returns a Filter predicate selecting names that are prefix or
// lie under it: HasPrefix("d.blocks.0") selects "d.blocks.0.conv.weight"
// but not "d.blocks.01.conv.weight".
func HasPrefix(prefix string) func(name string) bool {
	return func(name string) bool {
		return name == prefix || strings.HasPrefix(name, prefix+".")
	}
}
