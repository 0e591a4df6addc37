package autograd

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The golden files in testdata are written by scripts/golden/gen_autograd.py
// with PyTorch 1.13; see that script for the exact calls.

func loadGolden(t *testing.T, name string) *golden.File {
	t.Helper()
	f, err := golden.Read(filepath.Join("testdata", name))
	require.NoError(t, err)
	return f
}

func gt(t *testing.T, f *golden.File, key string) *tensor.Tensor {
	t.Helper()
	g, ok := f.Tensors[key]
	require.True(t, ok, "golden key %q missing", key)
	return tensor.FromSlice(append([]float32(nil), g.Data...), g.Shape...)
}

// closeTo compares got with want relative to want's largest magnitude:
// max|got-want| <= rel * max(|want|, tiny), and reports the worst element.
// It is the package's one comparison with PyTorch, written by hand for that
// report.
func closeTo(t *testing.T, what string, got, want *tensor.Tensor, rel float64) {
	t.Helper()
	if !assert.Equal(t, want.Shape(), got.Shape(), "%s: shape", what) {
		return
	}
	scale, worst, at := 1e-6, 0.0, 0
	for _, v := range want.Data() {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i, v := range got.Data() {
		if d := math.Abs(float64(v) - float64(want.Data()[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if !(worst <= rel*scale) {
		t.Errorf("%s: element %d = %v, want %v (max error %.3g, %.3g of scale %.3g)",
			what, at, got.Data()[at], want.Data()[at], worst, worst/scale, scale)
	}
}

func TestGoldenConv2d(t *testing.T) {
	f := loadGolden(t, "conv2d.json")
	cases := f.Meta["cases"].([]any)
	pair := func(m map[string]any, k string) [2]int {
		v := m[k].([]any)
		return [2]int{int(v[0].(float64)), int(v[1].(float64))}
	}
	for i, c := range cases {
		m := c.(map[string]any)
		key := func(s string) string { return fmt.Sprintf("case%d.%s", i, s) }
		t.Run(fmt.Sprint(m["name"]), func(t *testing.T) {
			p := tensor.ConvParams{Stride: pair(m, "stride"), Padding: pair(m, "padding"), Dilation: pair(m, "dilation")}
			x, w := Leaf(gt(t, f, key("x"))), Leaf(gt(t, f, key("w")))
			y := Conv2d(x, w, p)
			closeTo(t, "y", y.Value, gt(t, f, key("y")), tolGolden)
			gy := Const(gt(t, f, key("gy")))
			g := Grad(y, []*Var{x, w}, Seed(gy), CreateGraph())
			closeTo(t, "gx", g[0].Value, gt(t, f, key("gx")), tolGolden)
			closeTo(t, "gw", g[1].Value, gt(t, f, key("gw")), tolGolden)
			// Second order: d/dx sum(r*gw) and d/dw sum(s*gx).
			r, s := Const(gt(t, f, key("r"))), Const(gt(t, f, key("s")))
			ggx := Grad(Sum(Mul(g[1], r), false), []*Var{x})[0]
			closeTo(t, "ggx", ggx.Value, gt(t, f, key("ggx")), tolGolden)
			ggw := Grad(Sum(Mul(g[0], s), false), []*Var{w})[0]
			closeTo(t, "ggw_from_gx", ggw.Value, gt(t, f, key("ggw_from_gx")), tolGolden)
		})
	}
}

func TestGoldenOps(t *testing.T) {
	f := loadGolden(t, "ops.json")
	unary := map[string]func(x *Var) *Var{
		"sum_d1_keep":        func(x *Var) *Var { return Sum(x, true, 1) },
		"sum_d02_keep":       func(x *Var) *Var { return Sum(x, true, 0, 2) },
		"sum_d1":             func(x *Var) *Var { return Sum(x, false, 1) },
		"sum_all":            func(x *Var) *Var { return Sum(x, false) },
		"mean_d2_keep":       func(x *Var) *Var { return Mean(x, true, 2) },
		"mean_d01_keep":      func(x *Var) *Var { return Mean(x, true, 0, 1) },
		"mean_all":           func(x *Var) *Var { return Mean(x, false) },
		"max_d2_keep":        func(x *Var) *Var { return Max(x, true, 2) },
		"max_d1_keep":        func(x *Var) *Var { return Max(x, true, 1) },
		"max_d02_keep":       func(x *Var) *Var { return Max(x, true, 0, 2) },
		"var_d2_keep":        func(x *Var) *Var { return Variance(x, true, 2) },
		"var_d12_keep":       func(x *Var) *Var { return Variance(x, true, 1, 2) },
		"var_all":            func(x *Var) *Var { return Variance(x, false) },
		"upsample_nearest2x": func(x *Var) *Var { return UpsampleNearest(x, 2) },
		"avg_pool2d":         func(x *Var) *Var { return AvgPool2d(x, tensor.Window(2)) },
		"tanh":               Tanh,
		"sigmoid":            Sigmoid,
		"softplus":           Softplus,
		"relu":               ReLU,
		"exp":                Exp,
		"log":                Log,
		"sqrt":               Sqrt,
		"neg":                Neg,
		"square":             Square,
		"softmax":            func(x *Var) *Var { return Softmax(x, -1) },
		"log_softmax":        func(x *Var) *Var { return LogSoftmax(x, -1) },
	}
	binary := map[string]func(x, y *Var) *Var{
		"add": Add, "sub": Sub, "mul": Mul, "div": Div, "mul_bcast2": Mul,
		"matmul": MatMul, "matmul_bcast": MatMul, "matmul_2d": MatMul,
	}
	seen := 0
	for name, fn := range unary {
		t.Run(name, func(t *testing.T) {
			x := Leaf(gt(t, f, name+".x"))
			out := fn(x)
			closeTo(t, "out", out.Value, gt(t, f, name+".out"), tolGolden)
			g := Grad(out, []*Var{x}, Seed(Const(gt(t, f, name+".g"))))
			closeTo(t, "gx", g[0].Value, gt(t, f, name+".gx"), tolGolden)
		})
		seen++
	}
	for name, fn := range binary {
		t.Run(name, func(t *testing.T) {
			x, y := Leaf(gt(t, f, name+".x")), Leaf(gt(t, f, name+".y"))
			out := fn(x, y)
			closeTo(t, "out", out.Value, gt(t, f, name+".out"), tolGolden)
			g := Grad(out, []*Var{x, y}, Seed(Const(gt(t, f, name+".g"))))
			closeTo(t, "gx", g[0].Value, gt(t, f, name+".gx"), tolGolden)
			closeTo(t, "gy", g[1].Value, gt(t, f, name+".gy"), tolGolden)
		})
		seen++
	}
	assert.Equal(t, len(f.Meta["ops"].(map[string]any)), seen, "ops tested of those in ops.json")
}

func TestGoldenPool(t *testing.T) {
	f := loadGolden(t, "pool.json")
	ops := map[string]func(x *Var) *Var{
		"maxpool_k3s2p1": func(x *Var) *Var {
			return MaxPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
		},
		"maxpool_k2": func(x *Var) *Var { return MaxPool2d(x, tensor.PoolParams{Kernel: [2]int{2, 2}}) },
		"avgpool_k3s1p1_exclude": func(x *Var) *Var {
			return AvgPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true})
		},
		"avgpool_k3s2p1_include": func(x *Var) *Var {
			return AvgPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
		},
		"bilinear_up":    func(x *Var) *Var { return ResizeBilinear(x, 13, 4, false) },
		"bilinear_down":  func(x *Var) *Var { return ResizeBilinear(x, 4, 3, false) },
		"bilinear_align": func(x *Var) *Var { return ResizeBilinear(x, 7, 9, true) },
	}
	assert.Len(t, ops, len(f.Meta["ops"].(map[string]any)), "ops tested of those in pool.json")
	for name, fn := range ops {
		t.Run(name, func(t *testing.T) {
			x := Leaf(gt(t, f, name+".x"))
			out := fn(x)
			closeTo(t, "out", out.Value, gt(t, f, name+".out"), tolPool)
			g := Grad(out, []*Var{x}, Seed(Const(gt(t, f, name+".g"))))
			closeTo(t, "gx", g[0].Value, gt(t, f, name+".gx"), tolPool)
		})
	}
}
