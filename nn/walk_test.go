package nn_test

import (
	"testing"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
)

type inner struct {
	W *nn.Param
	B *nn.Buffer
}

// Embedded, by value or by pointer, a struct's members join its parent's
// names, and it is no module of its own; a named field is one.
type embedsValue struct {
	inner
	Head inner
}

type embedsPointer struct {
	*inner
	Head *inner
}

func newInner() inner {
	return inner{W: nn.NewParam(tensor.Ones(1)), B: nn.NewBuffer(tensor.Ones(1))}
}

func TestWalkEmbedded(t *testing.T) {
	a, b, c, d := newInner(), newInner(), newInner(), newInner()
	for _, m := range []any{&embedsValue{a, b}, &embedsPointer{&c, &d}} {
		var params, buffers, modules []string
		for name := range nn.Parameters(m) {
			params = append(params, name)
		}
		for name := range nn.Buffers(m) {
			buffers = append(buffers, name)
		}
		for name := range nn.Modules(m) {
			modules = append(modules, name)
		}
		assert.Equal(t, []string{"W", "Head.W"}, params, "parameters of %T", m)
		assert.Equal(t, []string{"B", "Head.B"}, buffers, "buffers of %T", m)
		assert.Equal(t, []string{"", "Head"}, modules, "modules of %T", m)
	}
}

type hiddenParam struct {
	W *nn.Param
	b *nn.Param
}

type hiddenList struct {
	layers []*nn.Linear
}

type hiddenInterface struct {
	act nn.Module
}

type hiddenOnPurpose struct {
	W      *nn.Param
	shared *nn.Linear `nn:"-"`
}

func TestWalkUnexportedField(t *testing.T) {
	lin := nn.NewLinear(2, 2, true, nil)
	cases := []struct {
		m    any
		want string // "" for no panic
	}{
		{&hiddenParam{W: nn.NewParam(tensor.Ones(1)), b: nn.NewParam(tensor.Ones(1))}, "field b of nn_test.hiddenParam"},
		{&hiddenList{layers: []*nn.Linear{lin}}, "field layers of nn_test.hiddenList"},
		{&hiddenInterface{act: lin}, "field act of nn_test.hiddenInterface"},
		{&hiddenInterface{act: nn.ReLU{}}, ""},
		{&hiddenOnPurpose{W: nn.NewParam(tensor.Ones(1)), shared: lin}, ""},
	}
	for _, c := range cases {
		for what, fn := range map[string]func(){
			"Parameters": func() { nn.ParamList(c.m) },
			"StateDict":  func() { nn.StateDict(c.m) },
			"Modules": func() {
				for range nn.Modules(c.m) {
				}
			},
		} {
			msg := panics(fn)
			if c.want == "" {
				assert.Empty(t, msg, "%s(%T) panicked", what, c.m)
			} else {
				assert.Contains(t, msg, c.want, "%s(%T)", what, c.m)
			}
		}
	}
}
