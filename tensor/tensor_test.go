package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// assertTensor asserts that got has want's shape and exactly its values.
func assertTensor(t *testing.T, want, got *Tensor, msgAndArgs ...any) bool {
	t.Helper()
	return assert.Equal(t, want.Shape(), got.Shape(), msgAndArgs...) && assert.Equal(t, want.Data(), got.Data(), msgAndArgs...)
}

// assertClose asserts that got has want's shape and is within
// AllClose(got, want, rtol, atol), and reports the largest difference when
// it is not.
func assertClose(t *testing.T, want, got *Tensor, rtol, atol float64, msgAndArgs ...any) bool {
	t.Helper()
	if !assert.Equal(t, want.Shape(), got.Shape(), msgAndArgs...) {
		return false
	}
	if AllClose(got, want, rtol, atol) {
		return true
	}
	return assert.Fail(t, fmt.Sprintf("not within rtol %g, atol %g: max |got - want| = %g", rtol, atol, maxDiff(got, want)), msgAndArgs...)
}

// panicText runs f and returns what it panicked with, as text, and whether
// it panicked.
func panicText(f func()) (msg string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, panicked = fmt.Sprint(r), true
		}
	}()
	f()
	return "", false
}

// naiveAt reads t at a multi-index, broadcasting dims of size 1 (and
// missing leading dims) against out.
func naiveAt(t *Tensor, idx []int) float32 {
	off := 0
	lead := len(idx) - len(t.shape)
	for i, d := range t.shape {
		x := idx[lead+i]
		if d == 1 {
			x = 0
		}
		off = off*d + x
	}
	return t.data[off]
}

// eachIndex calls fn with every multi-index of shape, row-major.
func eachIndex(shape []int, fn func(idx []int)) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	idx := make([]int, len(shape))
	for range n {
		fn(idx)
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

func TestBroadcastBinary(t *testing.T) {
	cases := []struct{ a, b []int }{
		{[]int{2, 3, 4}, []int{3, 1}},
		{[]int{2, 3, 4}, []int{4}},
		{[]int{1, 3, 1}, []int{2, 1, 5}},
		{[]int{5}, []int{}},
		{[]int{}, []int{2, 2}},
		{[]int{4, 1, 3, 1}, []int{1, 2, 1, 6}},
		{[]int{64, 8, 5, 5}, []int{1, 8, 1, 1}},
		{[]int{300, 300}, []int{300, 300}}, // parallel path
		// Broadcast runs split across workers, starting mid-counter.
		{[]int{20, 16, 16, 16}, []int{1, 16, 1, 1}},
		{[]int{7, 33, 5, 41}, []int{7, 1, 5, 1}},
		{[]int{3, 1, 40, 60}, []int{1, 20, 1, 60}},
	}
	ops := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		ref  func(x, y float32) float32
	}{
		{"Add", Add, func(x, y float32) float32 { return x + y }},
		{"Sub", Sub, func(x, y float32) float32 { return x - y }},
		{"Mul", Mul, func(x, y float32) float32 { return x * y }},
		{"Div", Div, func(x, y float32) float32 { return x / y }},
		{"Maximum", Maximum, func(x, y float32) float32 { return max(x, y) }},
		{"Gt", Gt, func(x, y float32) float32 { return b2f(x > y) }},
	}
	r := rng(1)
	for _, c := range cases {
		a, b := RandN(r, c.a...), RandU(r, 0.5, 2, c.b...)
		for _, op := range ops {
			got := op.f(a, b)
			want := BroadcastShapes(c.a, c.b)
			require.Equal(t, want, got.Shape(), "%s(%v, %v) shape", op.name, c.a, c.b)
			var ref []float32 // row-major, as got's data
			eachIndex(want, func(idx []int) {
				ref = append(ref, op.ref(naiveAt(a, idx), naiveAt(b, idx)))
			})
			require.Equal(t, ref, got.Data(), "%s(%v, %v)", op.name, c.a, c.b)
		}
	}
}

func TestReductions(t *testing.T) {
	r := rng(2)
	x := RandN(r, 3, 4, 5, 2)
	for _, axes := range [][]int{{0}, {1}, {3}, {1, 2}, {0, 2}, {0, 3}, {0, 1, 2, 3}, {-1}, nil} {
		for _, keep := range []bool{false, true} {
			norm := x.normAxes("test", axes)
			out := reducedShape(x.shape, norm, true)
			sum, mx := New(out...), Full(float32(math.Inf(-1)), out...)
			eachIndex(x.shape, func(idx []int) {
				o := slices.Clone(idx)
				for _, a := range norm {
					o[a] = 0
				}
				v := x.At(idx...)
				sum.Set(sum.At(o...)+v, o...)
				mx.Set(max(mx.At(o...), v), o...)
			})
			wantShape := reducedShape(x.shape, norm, keep)
			for _, c := range []struct {
				name string
				got  *Tensor
				want *Tensor
			}{
				{"Sum", Sum(x, keep, axes...), sum},
				{"Max", Max(x, keep, axes...), mx},
			} {
				require.Equal(t, wantShape, c.got.Shape(), "%s(axes %v, keep %v) shape", c.name, axes, keep)
				assertClose(t, c.want, c.got.Reshape(out...), tolSum, tolSum, "%s(axes %v, keep %v)", c.name, axes, keep)
			}
		}
	}
	assert.Equal(t, float32(1.25), Variance(FromSlice([]float32{1, 2, 3, 4}), 0, false).Item(), "Variance([1 2 3 4], ddof 0)")
	assert.InDelta(t, 5.0/3, Variance(FromSlice([]float32{1, 2, 3, 4}), 1, false).Item(), tolElem, "Variance([1 2 3 4], ddof 1)")
	assertTensor(t, FromSlice([]float32{2, 4}), Mean(FromSlice([]float32{1, 2, 3, 6}, 2, 2), false, 0), "Mean over axis 0")
}

func TestPermuteTranspose(t *testing.T) {
	x := Arange(0, 24, 1).Reshape(2, 3, 4)
	p := Permute(x, 2, 0, 1)
	eachIndex(p.Shape(), func(idx []int) {
		require.Equal(t, x.At(idx[1], idx[2], idx[0]), p.At(idx...), "Permute at %v", idx)
	})
	tr := Transpose(x, 0, -1)
	require.Equal(t, []int{4, 3, 2}, tr.Shape(), "Transpose(0,-1)")
	assert.Equal(t, x.At(0, 1, 3), tr.At(3, 1, 0), "Transpose(0,-1)")
}

func TestShapeOps(t *testing.T) {
	x := Arange(0, 6, 1).Reshape(2, 3)
	assertTensor(t, FromSlice([]float32{1, 2, 4, 5}, 2, 2), Slice(x, 1, 1, 3), "Slice")
	c := Concat(1, x, Slice(x, 1, 0, 1))
	assertTensor(t, FromSlice([]float32{0, 1, 2, 0, 3, 4, 5, 3}, 2, 4), c, "Concat")
	parts := Split(c, 1, 3, 1)
	require.Len(t, parts, 2, "Split")
	assertTensor(t, x, parts[0], "Split part 0")
	assertTensor(t, FromSlice([]float32{0, 3}, 2, 1), parts[1], "Split part 1")
	p := Pad(x, -1, [2]int{1, 0}, [2]int{0, 2})
	assertTensor(t, FromSlice([]float32{-1, -1, -1, -1, -1, 0, 1, 2, -1, -1, 3, 4, 5, -1, -1}, 3, 5), p, "Pad")
	sel := IndexSelect(x, 0, []int{1, 1, 0})
	assertTensor(t, FromSlice([]float32{3, 4, 5, 3, 4, 5, 0, 1, 2}, 3, 3), sel, "IndexSelect")
	assertTensor(t, FromSlice([]float32{0, 1, 2, 6, 8, 10}, 2, 3), IndexAdd(New(2, 3), 0, []int{1, 1, 0}, sel), "IndexAdd")
	assertTensor(t, FromSlice([]float32{0, 0, 1, 1, 0, 0}, 2, 3), OneHot([]int{2, 0}, 3), "OneHot")
	assertTensor(t, FromSlice([]float32{1, 1, 1, 2, 2, 2}, 2, 3), BroadcastTo(FromSlice([]float32{1, 2}, 2, 1), 2, 3), "BroadcastTo")
	assertTensor(t, Full(8, 3, 1), SumTo(Ones(2, 3, 4), 3, 1), "SumTo")
	assertTensor(t, FromSlice([]float32{5, 7, 5, 7}, 2, 2), Where(FromSlice([]float32{1, 0}), Full(5, 2, 2), Full(7, 2)), "Where")
	assertTensor(t, FromSlice([]float32{1, 1.25, 1.5, 1.75}), Arange(1, 2, 0.25), "Arange")
	r := x.Reshape(-1, 2)
	assert.Equal(t, []int{3, 2}, r.Shape(), "Reshape(-1,2)")
	assert.Same(t, &x.Data()[0], &r.Data()[0], "Reshape(-1,2) is a view")
}

func TestMatMul(t *testing.T) {
	r := rng(3)
	for _, c := range []struct {
		a, b   []int
		ta, tb bool
	}{
		{[]int{3, 4}, []int{4, 5}, false, false},
		{[]int{2, 3, 4}, []int{4, 5}, false, false},
		{[]int{4, 3}, []int{2, 5, 4}, true, true},
		{[]int{2, 1, 3, 4}, []int{3, 5, 4}, false, true},
	} {
		a, b := RandN(r, c.a...), RandN(r, c.b...)
		got := MatMulT(a, b, c.ta, c.tb)
		ea, eb := a, b
		if c.ta {
			ea = Transpose(a, -1, -2)
		}
		if c.tb {
			eb = Transpose(b, -1, -2)
		}
		// reference: broadcast multiply and sum over k
		m, k := ea.Dim(-2), ea.Dim(-1)
		n := eb.Dim(-1)
		prod := Mul(ea.Reshape(append(slices.Clone(ea.Shape()[:ea.Dims()-2]), m, k, 1)...),
			eb.Reshape(append(slices.Clone(eb.Shape()[:eb.Dims()-2]), 1, k, n)...))
		want := Sum(prod, false, -2)
		assertClose(t, want, got, tolSum, tolSum, "MatMulT(%v, %v, %v, %v)", c.a, c.b, c.ta, c.tb)
	}
}

// convNaive is the textbook direct convolution.
func convNaive(x, w *Tensor, p ConvParams) *Tensor {
	p = p.norm("test")
	g := convGeom("test", x.shape, w.shape, p)
	n, o := x.shape[0], w.shape[0]
	y := New(n, o, g.Ho, g.Wo)
	eachIndex(y.shape, func(idx []int) {
		var s float64
		for c := 0; c < g.C; c++ {
			for i := 0; i < g.KH; i++ {
				for j := 0; j < g.KW; j++ {
					iy := idx[2]*g.SH - g.PH + i*g.DH
					ix := idx[3]*g.SW - g.PW + j*g.DW
					if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
						s += float64(x.At(idx[0], c, iy, ix)) * float64(w.At(idx[1], c, i, j))
					}
				}
			}
		}
		y.Set(float32(s), idx...)
	})
	return y
}

func dot(a, b *Tensor) float64 {
	s := 0.0
	for i, v := range a.data {
		s += float64(v) * float64(b.data[i])
	}
	return s
}

func TestConv2dAgainstNaive(t *testing.T) {
	r := rng(4)
	cases := []struct {
		x, w []int
		p    ConvParams
	}{
		{[]int{2, 3, 7, 6}, []int{4, 3, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},
		{[]int{3, 2, 9, 8}, []int{3, 2, 2, 3}, ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}, Dilation: [2]int{1, 2}}},
		{[]int{1, 5, 4, 4}, []int{2, 5, 1, 1}, ConvParams{}},
		{[]int{4, 1, 5, 5}, []int{6, 1, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Padding: [2]int{2, 2}}},
		{[]int{64, 2, 3, 3}, []int{2, 2, 3, 3}, ConvParams{Padding: [2]int{1, 1}}},  // many images per chunk
		{[]int{3, 4, 70, 70}, []int{2, 4, 3, 3}, ConvParams{Padding: [2]int{1, 1}}}, // one image per chunk
	}
	for _, c := range cases {
		name := fmt.Sprintf("%v*%v/%+v", c.x, c.w, c.p)
		x, w := RandN(r, c.x...), RandN(r, c.w...)
		y := Conv2d(x, w, c.p)
		if want := convNaive(x, w, c.p); !assertClose(t, want, y, tolConv, tolConv, "Conv2d(%s)", name) {
			continue
		}
		// The gradients are the adjoints: <gy, conv(x,w)> = <dx, x> = <dw, w>.
		gy := RandN(r, y.Shape()...)
		dx := Conv2dInputGrad(gy, w, c.x[2], c.x[3], c.p)
		dw := Conv2dWeightGrad(x, gy, c.w[2], c.w[3], c.p)
		lhs := dot(gy, y)
		for what, rhs := range map[string]float64{"input": dot(dx, x), "weight": dot(dw, w)} {
			assert.InDelta(t, lhs, rhs, tolGrad*(1+math.Abs(lhs)), "Conv2d(%s): <gy,y> against <%s grad, %s>", name, what, what)
		}
	}
}

func TestPoolUpsample(t *testing.T) {
	x := Arange(0, 30, 1).Reshape(1, 1, 5, 6)
	p := AvgPool2d(x, Window(2))
	assertTensor(t, FromSlice([]float32{3.5, 5.5, 7.5, 15.5, 17.5, 19.5}, 1, 1, 2, 3), p, "AvgPool2d")
	u := UpsampleNearest(FromSlice([]float32{1, 2, 3, 4}, 1, 1, 2, 2), 2)
	assertTensor(t, FromSlice([]float32{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 1, 1, 4, 4), u, "UpsampleNearest")
}

func TestMisusePanics(t *testing.T) {
	cases := []struct {
		name, want string
		f          func()
	}{
		{"Add", "tensor: Add: shapes [2 3] and [4] do not broadcast", func() { Add(New(2, 3), New(4)) }},
		{"Reshape", "tensor: Reshape", func() { New(2, 3).Reshape(4, 2) }},
		{"FromSlice", "tensor: FromSlice: 3 values for shape [2 2]", func() { FromSlice(make([]float32, 3), 2, 2) }},
		{"MatMul", "tensor: MatMul: inner sizes differ", func() { MatMul(New(2, 3), New(4, 2)) }},
		{"Conv2d", "tensor: Conv2d: input [1 3 4 4] and weight [2 2 3 3]", func() { Conv2d(New(1, 3, 4, 4), New(2, 2, 3, 3), ConvParams{}) }},
		{"New/overflow", "tensor: New: shape [4294967296 4294967296] has more elements than an int can count", func() { New(1<<32, 1<<32) }},
		{"Reshape/overflow", "tensor: Reshape: shape [4611686018427387905 4] has more elements than an int can count", func() { New(4).Reshape(1<<62+1, 4) }},
		{"Reshape/overflow-empty", "tensor: Reshape: shape [4611686018427387904 4]", func() { New(0).Reshape(1<<62, 4) }},
		{"Zeros/overflow", "tensor: New: shape [2 4611686018427387904 2]", func() { Zeros(2, 1<<62, 2) }},
		{"Conv2d/channels", "tensor: Conv2d: input [1 0 4 4] and weight [2 0 3 3]: want at least one channel", func() { Conv2d(New(1, 0, 4, 4), New(2, 0, 3, 3), ConvParams{}) }},
		{"Conv2d/kernel", "want at least one channel and a kernel of at least 1x1", func() { Conv2d(New(1, 2, 4, 4), New(2, 2, 0, 3), ConvParams{}) }},
		{"Conv2dWeightGrad/channels", "tensor: Conv2dWeightGrad: input [1 0 4 4]", func() { Conv2dWeightGrad(New(1, 0, 4, 4), New(1, 2, 2, 2), 3, 3, ConvParams{}) }},
		{"Conv2d/fit", "does not fit", func() { Conv2d(New(1, 1, 2, 2), New(1, 1, 3, 3), ConvParams{}) }},
		{"Sum", "tensor: Sum: axis 3 out of range", func() { Sum(New(2, 2), false, 3) }},
		{"At", "tensor: At: index [0 5] out of range", func() { New(2, 2).At(0, 5) }},
		{"Item", "tensor: Item", func() { New(2).Item() }},
		{"Permute", "tensor: Permute", func() { Permute(New(2, 2), 0, 0) }},
		{"Concat", "tensor: Concat", func() { Concat(0, New(2, 2), New(2, 3)) }},
		{"Split", "tensor: Split: sizes [1 2] do not add up to 4", func() { Split(New(4), 0, 1, 2) }},
		{"IndexSelect", "tensor: IndexSelect: index 3 out of range", func() { IndexSelect(New(3, 2), 0, []int{3}) }},
		{"OneHot", "tensor: OneHot: label 5", func() { OneHot([]int{5}, 3) }},
		{"AvgPool2d", "tensor: AvgPool2d", func() { AvgPool2d(New(1, 1, 1, 1), Window(2)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, panicked := panicText(c.f)
			require.True(t, panicked, "no panic; want %q", c.want)
			assert.Contains(t, msg, c.want)
		})
	}
}

// TestNewZeroDimension: a zero dimension makes an empty tensor however
// large the others are, without an overflow panic.
func TestNewZeroDimension(t *testing.T) {
	for _, shape := range [][]int{{0, 1 << 62, 4}, {1 << 62, 4, 0}, {1 << 32, 0, 1 << 32}} {
		assert.Zero(t, New(shape...).Len(), "New(%v).Len()", shape)
	}
}

func TestStandardize(t *testing.T) {
	r := rng(5)
	x := RandN(r, 4, 3, 5, 2)
	for _, axes := range [][]int{{1, 2, 3}, {3}, {0, 2, 3}, {0, 1}, {1, 3}} {
		y, m, v := Standardize(x, 1e-5, axes...)
		wm := Mean(x, true, axes...)
		wv := Variance(x, 0, true, axes...)
		wy := Div(Sub(x, wm), Sqrt(AddScalar(wv, 1e-5)))
		assertClose(t, wy, y, tolConv, tolSum, "Standardize(axes %v): the result against the composite", axes)
		assertClose(t, wm, m, tolSum, tolElem, "Standardize(axes %v): the mean against the composite", axes)
		assertClose(t, wv, v, tolSum, tolElem, "Standardize(axes %v): the variance against the composite", axes)
	}
}

func TestStandardizeGrad(t *testing.T) {
	r := rng(6)
	x := RandN(r, 4, 3, 5, 2)
	for _, axes := range [][]int{{1, 2, 3}, {3}, {0, 2, 3}, {0, 1}} {
		xhat, _, v := Standardize(x, 1e-5, axes...)
		g := RandN(r, x.Shape()...)
		got := StandardizeGrad(g, xhat, v, 1e-5, axes...)
		c := Sub(Sub(g, Mean(g, true, axes...)), Mul(xhat, Mean(Mul(g, xhat), true, axes...)))
		want := Mul(c, Rsqrt(AddScalar(v, 1e-5)))
		assertClose(t, want, got, tolConv, tolSum, "StandardizeGrad(axes %v) against the composite", axes)
	}
}

// TestDeterministicAcrossWorkers checks that results do not depend on how
// many workers the kernels split over: each output is summed in one fixed
// order.
func TestDeterministicAcrossWorkers(t *testing.T) {
	r := rng(8)
	x, w := RandN(r, 16, 24, 12, 12), RandN(r, 32, 24, 3, 3)
	a, b := RandN(r, 3, 200, 300), RandN(r, 300, 150)
	// The direct kernels (a partial last block of 16 images), and 1×1
	// convolutions as one GEMM per image.
	xd, wd := RandN(r, 40, 32, 12, 12), RandN(r, 48, 32, 3, 3)
	x1, w1 := RandN(r, 9, 32, 16, 16), RandN(r, 40, 32, 1, 1)
	p := ConvParams{Padding: [2]int{1, 1}}
	run := func(procs int) []*Tensor {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		y := Conv2d(x, w, p)
		yd := Conv2d(xd, wd, p)
		y1 := Conv2d(x1, w1, ConvParams{})
		return []*Tensor{y, Conv2dInputGrad(y, w, 12, 12, p), Conv2dWeightGrad(x, y, 3, 3, p),
			MatMul(a, b), Sum(y, false, 0, 2, 3), Mean(a, true, 1),
			yd, Conv2dInputGrad(yd, wd, 12, 12, p), Conv2dWeightGrad(xd, yd, 3, 3, p),
			y1, Conv2dInputGrad(y1, w1, 16, 16, ConvParams{}), Conv2dWeightGrad(x1, y1, 1, 1, ConvParams{})}
	}
	one := run(1)
	for _, procs := range []int{2, 3, 4} {
		many := run(procs)
		for i := range one {
			assertTensor(t, one[i], many[i], "result %d between 1 and %d workers", i, procs)
		}
	}
}

func TestFusedMulAddMulSumTo(t *testing.T) {
	r := rng(10)
	for _, c := range []struct{ a, w, b []int }{
		{[]int{4, 3, 5, 2}, []int{1, 3, 1, 1}, []int{1, 3, 1, 1}},
		{[]int{4, 3, 5, 2}, []int{4, 3, 1, 1}, []int{4, 3, 1, 1}},
		{[]int{2, 3}, []int{3}, []int{2, 1}},
		{[]int{5}, []int{}, []int{5}},
		{[]int{20, 16, 16, 16}, []int{1, 16, 1, 1}, []int{1, 16, 1, 1}}, // parallel runs
		{[]int{9, 40, 11, 13}, []int{9, 40, 1, 1}, []int{1, 40, 11, 1}},
		{[]int{3, 30000}, []int{3, 30000}, []int{3, 30000}}, // one run, split
		{[]int{70000}, []int{}, []int{70000}},
	} {
		a, w, b := RandN(r, c.a...), RandN(r, c.w...), RandN(r, c.b...)
		got, want := MulAdd(a, w, b), Add(Mul(a, w), b)
		assertClose(t, want, got, tolElem, tolElem, "MulAdd(%v, %v, %v)", c.a, c.w, c.b)
		// Exact, element by element, on every path (row-major references).
		var fma, bw, sel []float32
		eachIndex(c.a, func(idx []int) {
			x, wv, bv := naiveAt(a, idx), naiveAt(w, idx), naiveAt(b, idx)
			fma = append(fma, x*wv+bv)
			bw = append(bw, wv)
			if x > 0 {
				sel = append(sel, wv)
			} else {
				sel = append(sel, bv)
			}
		})
		require.Equal(t, fma, got.Data(), "MulAdd(%v, %v, %v)", c.a, c.w, c.b)
		require.Equal(t, bw, BroadcastTo(w, c.a...).Data(), "BroadcastTo(%v, %v)", c.w, c.a)
		require.Equal(t, sel, Where(Gt(a, Zeros(c.b...)), w, b).Data(), "Where(%v > 0, %v, %v)", c.a, c.w, c.b)
		g := RandN(r, c.a...)
		got, want = MulSumTo(g, a, c.w...), SumTo(Mul(g, a), c.w...)
		assertClose(t, want, got, tolConv, tolSum, "MulSumTo(%v -> %v)", c.a, c.w)
	}
}

// AvgPool2dGrad is the adjoint of AvgPool2d, <AvgPool2d(x), g> = <x,
// AvgPool2dGrad(g)>, on the fast path of non-overlapping windows (with
// trailing rows and columns left out) and on the general one.
func TestAvgPool2dGradIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range []PoolParams{
		Window(2), Window(3),
		{Kernel: [2]int{3, 3}, Stride: [2]int{1, 2}, Padding: [2]int{1, 1}},
		{Kernel: [2]int{2, 3}, ExcludePad: true},
	} {
		x := RandN(r, 2, 3, 7, 8)
		y := AvgPool2d(x, p)
		g := RandN(r, y.Shape()...)
		var lhs, rhs float64
		for i, v := range y.Data() {
			lhs += float64(v) * float64(g.Data()[i])
		}
		for i, v := range AvgPool2dGrad(g, 7, 8, p).Data() {
			rhs += float64(v) * float64(x.Data()[i])
		}
		assert.InEpsilon(t, lhs, rhs, tolConv, "%+v: <AvgPool2d(x), g> against <x, AvgPool2dGrad(g)>", p)
	}
	// The fast path averages whole windows only.
	x := Arange(0, 15, 1).Reshape(1, 1, 3, 5)
	assert.Equal(t, []float32{3, 5}, AvgPool2d(x, Window(2)).Data(), "AvgPool2d(3x5, Window(2))")
}

// naivePool is the direct definition of AvgPool2d and MaxPool2d: every
// output reduces its whole window.
func naivePool(x *Tensor, p PoolParams, avg bool) *Tensor {
	g := p.geom("naivePool", x.shape)
	out := New(g.n, g.c, g.oh, g.ow)
	for pl := range g.n * g.c {
		src := x.data[pl*g.h*g.w:]
		for i := range g.oh {
			for j := range g.ow {
				y0, y1, x0, x1, div := g.window(i, j)
				s, m := float32(0), float32(math.Inf(-1))
				for y := y0; y < y1; y++ {
					for xx := x0; xx < x1; xx++ {
						v := src[y*g.w+xx]
						s += v
						if v != v || m != m {
							m = float32(math.NaN())
						} else if v > m {
							m = v
						}
					}
				}
				if avg {
					m = s / float32(div)
				}
				out.data[(pl*g.oh+i)*g.ow+j] = m
			}
		}
	}
	return out
}

// The separable pools against their definition, on odd sizes down to a
// single pixel, and MaxPool2dIndices against MaxPool2d.
func TestPoolsMatchDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	params := []PoolParams{
		{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true},
		{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}},
		{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}},
		{Kernel: [2]int{2, 3}, Stride: [2]int{1, 2}, Padding: [2]int{1, 1}},
		Window(2), Window(3),
	}
	for _, hw := range [][2]int{{1, 1}, {1, 5}, {2, 2}, {3, 3}, {4, 7}, {9, 6}, {17, 17}} {
		x := RandN(r, 2, 3, hw[0], hw[1])
		for _, p := range params {
			if hw[0]+2*p.Padding[0] < p.Kernel[0] || hw[1]+2*p.Padding[1] < p.Kernel[1] {
				continue
			}
			got, want := AvgPool2d(x, p), naivePool(x, p, true)
			assertClose(t, want, got, tolElem, tolElem, "AvgPool2d(%v, %+v)", hw, p)
			want = naivePool(x, p, false)
			assert.Equal(t, want.Data(), MaxPool2d(x, p).Data(), "MaxPool2d(%v, %+v)", hw, p)
			got, _ = MaxPool2dIndices(x, p)
			assert.Equal(t, want.Data(), got.Data(), "MaxPool2dIndices(%v, %+v)", hw, p)
		}
	}
}

func TestMaxPoolNaNWins(t *testing.T) {
	x := FromSlice([]float32{1, 2, 3, 4, float32(math.NaN()), 6, 7, 8, 9}, 1, 1, 3, 3)
	for _, p := range []PoolParams{{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}, {Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}}} {
		for _, v := range MaxPool2d(x, p).Data() {
			assert.True(t, math.IsNaN(float64(v)), "MaxPool2d(%+v) with a NaN in every window = %v; want all NaN", p, MaxPool2d(x, p))
		}
	}
}
