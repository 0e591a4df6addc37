package augment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadGolden(t *testing.T) map[string]golden.Tensor {
	t.Helper()
	g, err := golden.Load("../testdata/augment.json")
	require.NoError(t, err)
	return g
}

func gt(g map[string]golden.Tensor, name string) *tensor.Tensor {
	v, ok := g[name]
	if !ok {
		panic("golden: no tensor " + name)
	}
	return tensor.FromSlice(slices.Clone(v.Data), v.Shape...)
}

func f32s(g map[string]golden.Tensor, name string) []float32 { return gt(g, name).Data() }

func f64s(g map[string]golden.Tensor, name string) []float64 {
	var out []float64
	for _, v := range f32s(g, name) {
		out = append(out, float64(v))
	}
	return out
}

func ints(g map[string]golden.Tensor, name string) []int {
	var out []int
	for _, v := range f32s(g, name) {
		out = append(out, int(v))
	}
	return out
}

func bools(g map[string]golden.Tensor, name string) []bool {
	var out []bool
	for _, v := range f32s(g, name) {
		out = append(out, v != 0)
	}
	return out
}

func adaParams(g map[string]golden.Tensor, x *tensor.Tensor) *ADAParams {
	s := x.Shape()
	return &ADAParams{
		N: s[0], H: s[2], W: s[3],
		FlipX: bools(g, "ada_rgb.flip"), Rot90: ints(g, "ada_rgb.rot"),
		ShiftY: ints(g, "ada_rgb.dy"), ShiftX: ints(g, "ada_rgb.dx"),
		Brightness: f64s(g, "ada_rgb.brightness"), Contrast: f64s(g, "ada_rgb.contrast"),
		LumaFlip: bools(g, "ada_rgb.lumaflip"), Hue: f64s(g, "ada_rgb.hue"), Saturation: f64s(g, "ada_rgb.saturation"),
	}
}

// ops maps each golden case to the Go transformation with its parameters.
func ops(g map[string]golden.Tensor) map[string]func(x *autograd.Var) *autograd.Var {
	return map[string]func(x *autograd.Var) *autograd.Var{
		"brightness": func(x *autograd.Var) *autograd.Var { return Brightness(x, f32s(g, "brightness.u")) },
		"saturation": func(x *autograd.Var) *autograd.Var { return Saturation(x, f32s(g, "saturation.u")) },
		"contrast":   func(x *autograd.Var) *autograd.Var { return Contrast(x, f32s(g, "contrast.u")) },
		"translate": func(x *autograd.Var) *autograd.Var {
			return Translate(x, ints(g, "translate.dy"), ints(g, "translate.dx"))
		},
		"cutout": func(x *autograd.Var) *autograd.Var { return Cutout(x, ints(g, "cutout.cy"), ints(g, "cutout.cx")) },
		"diffaugment": func(x *autograd.Var) *autograd.Var {
			s := x.Shape()
			return Apply(x, &Params{
				Policy: Policy{Color: true, Translation: true, Cutout: true}, N: s[0], H: s[2], W: s[3],
				Brightness: f32s(g, "diffaugment.bright"), Saturation: f32s(g, "diffaugment.sat"), Contrast: f32s(g, "diffaugment.con"),
				ShiftY: ints(g, "diffaugment.dy"), ShiftX: ints(g, "diffaugment.dx"),
				CutoutY: ints(g, "diffaugment.cy"), CutoutX: ints(g, "diffaugment.cx"),
			})
		},
		"ada_rgb":  func(x *autograd.Var) *autograd.Var { return ApplyADA(x, adaParams(g, x.Value)) },
		"ada_gray": func(x *autograd.Var) *autograd.Var { return ApplyADA(x, adaParams(g, x.Value)) },
	}
}

// The tolerances of this package's tests, stated once.
const (
	tolGolden = 1e-5  // float32 transformations and their gradients against PyTorch's
	tolExact  = 1e-6  // an identity computed through arithmetic (ADA with p = 0)
	tolADA    = 1e-12 // the ADA controller's float64 bookkeeping
)

// TestGolden compares every transformation and its input gradient with
// PyTorch for fixed parameters.
func TestGolden(t *testing.T) {
	g := loadGolden(t)
	for name, f := range ops(g) {
		t.Run(name, func(t *testing.T) {
			x := autograd.Leaf(gt(g, name+".x"))
			y := f(x)
			want := gt(g, name+".y")
			assert.True(t, tensor.AllClose(y.Value, want, tolGolden, tolGolden), "%s(x) = %v; want %v", name, y.Value, want)
			loss := autograd.Sum(autograd.Mul(y, autograd.Const(gt(g, name+".r"))), false)
			gx := autograd.Grad(loss, []*autograd.Var{x})[0]
			want = gt(g, name+".gx")
			assert.True(t, tensor.AllClose(gx.Value, want, tolGolden, tolGolden), "d%s/dx = %v; want %v", name, gx.Value, want)
		})
	}
}

func TestGradCheck(t *testing.T) {
	g := loadGolden(t)
	for name, f := range ops(g) {
		t.Run(name, func(t *testing.T) {
			in := gt(g, name+".x")
			fn := func(xs []*autograd.Var) *autograd.Var { return f(xs[0]) }
			assert.NoError(t, autograd.GradCheck(fn, []*tensor.Tensor{in}, nil))
			assert.NoError(t, autograd.GradGradCheck(func(xs []*autograd.Var) *autograd.Var {
				return autograd.Square(f(xs[0]))
			}, []*tensor.Tensor{in}, nil), "second order")
		})
	}
}

func TestSampleRanges(t *testing.T) {
	p := Policy{Color: true, Translation: true, Cutout: true}
	r := rand.New(rand.NewPCG(1, 2))
	for _, hw := range [][2]int{{32, 32}, {28, 20}, {9, 7}, {1, 1}} {
		h, w := hw[0], hw[1]
		prm := Sample(p, r, 500, h, w)
		sy, sx := TranslationRange(h), TranslationRange(w)
		seen := map[int]bool{}
		for i := range 500 {
			for _, u := range []float32{prm.Brightness[i], prm.Saturation[i], prm.Contrast[i]} {
				require.True(t, u >= 0 && u < 1, "uniform parameter %v outside [0, 1)", u)
			}
			require.True(t, abs(prm.ShiftY[i]) <= sy && abs(prm.ShiftX[i]) <= sx, "%dx%d: shift %d,%d beyond %d,%d", h, w, prm.ShiftY[i], prm.ShiftX[i], sy, sx)
			seen[prm.ShiftY[i]] = true
			require.True(t, prm.CutoutY[i] >= 0 && prm.CutoutY[i] < h+1-CutoutSize(h)%2 && prm.CutoutX[i] >= 0 && prm.CutoutX[i] < w+1-CutoutSize(w)%2,
				"%dx%d: cutout centre %d,%d out of range", h, w, prm.CutoutY[i], prm.CutoutX[i])
		}
		assert.Len(t, seen, 2*sy+1, "%dx%d: distinct row shifts", h, w)
	}
	assert.Equal(t, 4, TranslationRange(32))
	assert.Equal(t, 16, CutoutSize(32))
	assert.Equal(t, 4, TranslationRange(28))
	assert.Equal(t, 1, TranslationRange(9))
}

func abs(x int) int { return max(x, -x) }

// TestSameParams: one Params augments real and fake batches identically, and
// the same seed gives the same augmentation.
func TestSameParams(t *testing.T) {
	p, err := ParsePolicy("color,translation,cutout")
	require.NoError(t, err)
	x := tensor.RandU(rand.New(rand.NewPCG(5, 5)), -1, 1, 4, 3, 16, 16)
	prm := Sample(p, rand.New(rand.NewPCG(7, 7)), 4, 16, 16)
	a := Apply(autograd.Const(x), prm)
	b := Apply(autograd.Const(x.Clone()), prm)
	assert.True(t, tensor.Equal(a.Value, b.Value), "same parameters, different results")
	c := DiffAugment(autograd.Const(x), p, rand.New(rand.NewPCG(7, 7)))
	assert.True(t, tensor.Equal(a.Value, c.Value), "DiffAugment with the same seed differs from Sample+Apply")
	d := DiffAugment(autograd.Const(x), p, rand.New(rand.NewPCG(8, 8)))
	assert.False(t, tensor.Equal(a.Value, d.Value), "different seeds, same augmentation")
	// Gradients reach the generator side.
	z := autograd.Leaf(x.Clone())
	autograd.Backward(autograd.MeanAll(Apply(z, prm)))
	assert.NotNil(t, z.Grad, "no gradient through Apply")
}

func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Policy
		err  bool
	}{
		{"", Policy{}, false},
		{"color", Policy{Color: true}, false},
		{"translation, cutout", Policy{Translation: true, Cutout: true}, false},
		{"color,translation,cutout", Policy{true, true, true}, false},
		{"colour", Policy{}, true},
	} {
		got, err := ParsePolicy(tc.in)
		if tc.err {
			assert.Error(t, err, "ParsePolicy(%q)", tc.in)
			continue
		}
		require.NoError(t, err, "ParsePolicy(%q)", tc.in)
		assert.Equal(t, tc.want, got, "ParsePolicy(%q)", tc.in)
		back, err := ParsePolicy(got.String())
		assert.NoError(t, err, "String round trip of %v", got)
		assert.Equal(t, got, back, "String round trip of %v", got)
	}
}

// TestIdentity: p = 0 (or zero parameters) leaves images unchanged.
func TestIdentity(t *testing.T) {
	x := tensor.RandU(rand.New(rand.NewPCG(1, 1)), -1, 1, 3, 3, 8, 8)
	for _, c := range []int{1, 3} {
		xc := tensor.Slice(x, 1, 0, c)
		y := ADAugment(autograd.Const(xc), 0, rand.New(rand.NewPCG(2, 2)))
		assert.True(t, tensor.AllClose(y.Value, xc, tolExact, tolExact), "C=%d: ADA with p=0 changed the images", c)
	}
	y := Translate(autograd.Const(x), make([]int, 3), make([]int, 3))
	assert.True(t, tensor.Equal(y.Value, x), "zero translation changed the images")
}

// TestGeometric checks the pixel moves on a 3x3 image with known values.
func TestGeometric(t *testing.T) {
	x := autograd.Const(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3))
	for _, tc := range []struct {
		flip   bool
		rot    int
		dy, dx int
		want   []float32
	}{
		{false, 0, 0, 0, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{true, 0, 0, 0, []float32{3, 2, 1, 6, 5, 4, 9, 8, 7}},
		{false, 1, 0, 0, []float32{3, 6, 9, 2, 5, 8, 1, 4, 7}}, // numpy.rot90
		{false, 2, 0, 0, []float32{9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{false, 0, 1, 0, []float32{4, 5, 6, 7, 8, 9, 4, 5, 6}}, // reflected
		{false, 0, 0, -1, []float32{2, 1, 2, 5, 4, 5, 8, 7, 8}},
		{true, 1, 0, 0, []float32{1, 4, 7, 2, 5, 8, 3, 6, 9}},
	} {
		y := Geometric(x, []bool{tc.flip}, []int{tc.rot}, []int{tc.dy}, []int{tc.dx})
		assert.Equal(t, tc.want, y.Value.Data(), "Geometric(flip %v, rot %d, shift %d,%d)", tc.flip, tc.rot, tc.dy, tc.dx)
	}
}

func TestADAController(t *testing.T) {
	a := NewADA()
	over := tensor.FromSlice([]float32{1, 1, 1, 1, 1, 1, 1, 1, -1, 0}, 10) // r_t = 0.7
	under := tensor.Full(-1, 10)
	step := 40.0 / 500000 // 4 batches of 10 images
	for i := range 8 {
		require.Equal(t, i%4 == 3, a.Observe(over), "call %d: updated", i)
	}
	assert.InDelta(t, 2*step, a.P, tolADA, "p after 2 updates above target")
	assert.InDelta(t, 0.7, a.RT(), tolADA, "r_t after 2 updates above target")
	for range 12 {
		a.Observe(under)
	}
	assert.Zero(t, a.P, "p after more steps down than up (clamped)")
	a.P = 1
	for range 4 {
		a.Observe(over)
	}
	assert.Equal(t, 1.0, a.P, "p clamped to 1")
	// At the target exactly, p stays.
	b := &ADA{P: 0.3, Target: 0.5, Interval: 1, Kimg: 1}
	b.Observe(tensor.FromSlice([]float32{1, 1, 1, -1}, 4))
	assert.Equal(t, 0.3, b.P, "p moved at the target")
}

func TestSampleADA(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	prm := SampleADA(0.5, r, 2000, 8, 8)
	count := 0
	for i := range 2000 {
		if prm.Brightness[i] != 0 {
			count++
		}
		require.True(t, abs(prm.ShiftY[i]) <= 1 && prm.Rot90[i] >= 0 && prm.Rot90[i] <= 3, "sample %d out of range: %+v", i, prm)
	}
	assert.InDelta(t, 1000, count, 100, "brightness applied of 2000 with p = 0.5")
	rect := SampleADA(1, r, 50, 8, 6)
	for _, k := range rect.Rot90 {
		require.Zero(t, k, "rotation sampled for a non-square image")
	}
}

func TestPanics(t *testing.T) {
	x := autograd.Const(tensor.New(2, 3, 4, 4))
	for name, fn := range map[string]func(){
		"Brightness n":  func() { Brightness(x, []float32{1}) },
		"Apply shape":   func() { Apply(x, Sample(Policy{Color: true}, rand.New(rand.NewPCG(1, 1)), 3, 4, 4)) },
		"Sample n":      func() { Sample(Policy{}, rand.New(rand.NewPCG(1, 1)), 0, 4, 4) },
		"rotate non-sq": func() { Geometric(autograd.Const(tensor.New(1, 1, 2, 3)), nil, []int{1}, nil, nil) },
		"ApplyADA 2 ch": func() {
			ApplyADA(autograd.Const(tensor.New(1, 2, 4, 4)), SampleADA(0, rand.New(rand.NewPCG(1, 1)), 1, 4, 4))
		},
		"ADA interval":    func() { (&ADA{Kimg: 1}).Observe(tensor.New(1)) },
		"DiffAugment dim": func() { DiffAugment(autograd.Const(tensor.New(4, 4)), Policy{}, rand.New(rand.NewPCG(1, 1))) },
	} {
		assert.Panics(t, fn, name)
	}
}

func Example() {
	r := rand.New(rand.NewPCG(1, 2))
	policy, _ := ParsePolicy("color,translation,cutout")
	real := autograd.Const(tensor.RandU(r, -1, 1, 4, 3, 32, 32))
	fake := autograd.Leaf(tensor.RandU(r, -1, 1, 4, 3, 32, 32)) // stands for G(z)

	// Independent draws for the two batches, as the reference does ...
	realAug := DiffAugment(real, policy, r)
	fakeAug := DiffAugment(fake, policy, r)
	// ... or one draw shared by both.
	prm := Sample(policy, r, 4, 32, 32)
	realAug, fakeAug = Apply(real, prm), Apply(fake, prm)
	fmt.Println(realAug.Shape(), fakeAug.Shape(), fakeAug.RequiresGrad())

	ada := NewADA()
	dReal := tensor.Full(1, 4) // the critic is sure every real image is real
	for range ada.Interval {
		ada.Observe(dReal)
	}
	fmt.Printf("p = %.6f after r_t = %.1f\n", ada.P, ada.RT())
	// Output:
	// [4 3 32 32] [4 3 32 32] true
	// p = 0.000032 after r_t = 1.0
}
