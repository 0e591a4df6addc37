package inception

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed goldens (scripts/inception/gen_golden.py): every case's
// weights under "weights.<case>.", its input and float64 reference output
// under "golden.<case>.x" and "golden.<case>.y".
const goldenFile = "testdata/golden.safetensors"

// EnvFull names a directory made by
// `scripts/inception/gen_golden.py --full DIR`, for TestFullNetwork.
const EnvFull = "GANTRY_INCEPTION_TEST"

// The tolerances of this package's tests, stated once, as max abs error /
// max abs (relErr) against PyTorch's float64 reference unless said.
const (
	tolBatch = 1e-6 // the same images in other batches: sums in another order
	tolBlock = 1e-5 // one block in float32
	tolTiny  = 5e-5 // the whole network at widths/16: 94 float32 layers
	tolFull  = 1e-4 // the full-size network, against float64 and against PyTorch's float32
	// minPoolGap is how far the golden of Mixed_7c must be from the output
	// of the same block with an average pool, for it to test the max pool.
	minPoolGap = 1e-3
)

var loadGolden = sync.OnceValues(func() (nn.State, error) {
	sd, _, err := nn.LoadFile(goldenFile)
	return sd, err
})

func goldenState(t testing.TB) nn.State {
	t.Helper()
	sd, err := loadGolden()
	require.NoError(t, err)
	return sd
}

// relErr returns max|got-want| / max|want|, the error measure of these
// tests: the largest deviation relative to the scale of the reference.
func relErr(got, want []float32) float64 {
	var maxErr, scale float64
	for i := range want {
		maxErr = max(maxErr, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if math.IsNaN(maxErr) || slices.ContainsFunc(got, func(v float32) bool { return v != v }) {
		return math.Inf(1)
	}
	return maxErr / scale
}

// elemRelErr returns max |got-want|/|want| over the elements whose |want| is
// at least floor times the largest |want|.
func elemRelErr(got, want []float32, floor float64) float64 {
	var scale, e float64
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	for i, w := range want {
		if a := math.Abs(float64(w)); a >= floor*scale && a > 0 {
			e = max(e, math.Abs(float64(got[i])-float64(w))/a)
		}
	}
	return e
}

func checkClose(t *testing.T, what string, got *tensor.Tensor, want *tensor.Tensor, tol float64) float64 {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape(), "%s: shape", what)
	e := relErr(got.Data(), want.Data())
	assert.LessOrEqual(t, e, tol, "%s: max abs error / max abs", what)
	return e
}

// loadInto loads the golden weights of a case into m strictly.
func loadInto(t *testing.T, m any, name string) {
	t.Helper()
	sd := goldenState(t).WithPrefix("weights." + name + ".")
	require.NotEmpty(t, sd, "no weights for case %q in %s", name, goldenFile)
	require.NoError(t, nn.LoadStateDict(m, sd, nn.LoadOptions{}), "case %s", name)
}

func TestBlocksMatchPyTorch(t *testing.T) {
	cases := []struct {
		name string
		m    any
		fwd  func(m any, x *tensor.Tensor) *tensor.Tensor
	}{
		{"stem", func() any { s := newStem(8); return &s }(), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*Stem).forward(x) }},
		{"a", newBlockA(16, 192, 32), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*BlockA).forward(x) }},
		{"b", newBlockB(16, 288), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*BlockB).forward(x) }},
		{"c", newBlockC(16, 768, 160), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*BlockC).forward(x) }},
		{"d", newBlockD(16, 768), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*BlockD).forward(x) }},
		{"e1", newBlockE(32, 1280, false), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*BlockE).forward(x) }},
		{"e2", newBlockE(32, 2048, true), func(m any, x *tensor.Tensor) *tensor.Tensor { return m.(*BlockE).forward(x) }},
	}
	sd := goldenState(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loadInto(t, c.m, c.name)
			x, want := sd["golden."+c.name+".x"], sd["golden."+c.name+".y"]
			before := x.Clone()
			got := c.fwd(c.m, x)
			e := checkClose(t, c.name, got, want, tolBlock)
			t.Logf("%s: %v -> %v, max abs error / max abs %.3g", c.name, x.Shape(), got.Shape(), e)
			assert.True(t, tensor.Equal(x, before), "%s modified its input", c.name)
		})
	}
}

// E_2 differs from E_1 only in its pool; the golden must tell them apart, or
// the test above would not check the max pool.
func TestBlockE2NeedsMaxPool(t *testing.T) {
	b := newBlockE(32, 2048, true)
	loadInto(t, b, "e2")
	sd := goldenState(t)
	b.MaxPool = false
	assert.GreaterOrEqual(t, relErr(b.forward(sd["golden.e2.x"]).Data(), sd["golden.e2.y"].Data()), minPoolGap,
		"E_2 with an average pool matches the golden: the case does not check the pool")
}

// tinyNet returns the whole network with channel counts divided by 16 and
// the golden's random weights.
func tinyNet(t testing.TB) *Net {
	t.Helper()
	n := newNet(16)
	require.NoError(t, n.load(goldenState(t).WithPrefix("weights.net.")))
	return n
}

func TestTinyNetworkMatchesPyTorch(t *testing.T) {
	n := tinyNet(t)
	sd := goldenState(t)
	x, want := sd["golden.net.x"], sd["golden.net.y"]
	require.Equal(t, 128, n.Dim(), "Dim()")
	require.Equal(t, 128, want.Dim(1), "the golden's dimension")
	got := n.Features(x)
	e := checkClose(t, "tiny network", got, want, tolTiny)
	t.Logf("tiny network (widths/16): %v -> %v, max abs error / max abs %.3g", x.Shape(), got.Shape(), e)
}

func TestFeaturesBatchedAndConcurrent(t *testing.T) {
	n := tinyNet(t)
	r := rand.New(rand.NewPCG(1, 2))
	x := tensor.RandU(r, -1, 1, 5, 3, 21, 17)
	before := x.Clone()
	all := n.Features(x)
	require.True(t, tensor.Equal(x, before), "Features modified its input")
	n.BatchSize = 2
	var wg sync.WaitGroup
	outs := make([]*tensor.Tensor, 3)
	for i := range outs {
		wg.Go(func() { outs[i] = n.Features(x) })
	}
	wg.Wait()
	for i, o := range outs {
		assert.True(t, tensor.Equal(o, outs[0]), "concurrent call %d differs from call 0", i)
	}
	assert.LessOrEqual(t, relErr(outs[0].Data(), all.Data()), tolBatch, "batches of 2 vs one batch")
	one := n.Features(tensor.Slice(x, 0, 3, 4))
	assert.LessOrEqual(t, relErr(one.Data(), tensor.Slice(all, 0, 3, 4).Data()), tolBatch, "image 3 alone vs in the batch")
}

func TestFeaturesGrayRepeatsChannel(t *testing.T) {
	n := tinyNet(t)
	r := rand.New(rand.NewPCG(3, 4))
	g := tensor.RandU(r, -1, 1, 2, 1, 28, 28)
	rgb := tensor.Concat(1, g, g, g)
	assert.Zero(t, relErr(n.Features(g).Data(), n.Features(rgb).Data()), "gray vs repeated RGB")
}

// An image already 299×299 is not resized: bilinear resizing to the same
// size is the identity.
func TestResizeIdentityAtSize(t *testing.T) {
	m := tensor.ResizeMatrix(Size, Size, false)
	id := tensor.New(Size, Size)
	for i := range Size {
		id.Set(1, i, i)
	}
	require.True(t, tensor.Equal(m, id), "ResizeMatrix(299, 299) is not the identity")
}

func TestFeaturesPanics(t *testing.T) {
	n := tinyNet(t)
	for _, shape := range [][]int{{3, 8, 8}, {1, 2, 8, 8}, {1, 4, 8, 8}, {0, 3, 8, 8}} {
		func() {
			defer func() {
				assert.Regexp(t, `^inception: Net\.Features:`, fmt.Sprint(recover()), "Features(%v): the panic", shape)
			}()
			n.Features(tensor.New(shape...))
		}()
	}
}

func TestNamesAndShapes(t *testing.T) {
	n := New()
	assert.Equal(t, DefaultName, n.Name(), "New(): Name")
	assert.Equal(t, Dim, n.Dim(), "New(): Dim")
	sd := nn.StateDict(n)
	// torchvision's inception_v3(aux_logits=False) has 94 BasicConv2d
	// modules of 6 entries each; its fc is not part of the features.
	assert.Len(t, sd, 94*6, "state dict entries")
	var params int
	for k, v := range sd {
		if strings.HasSuffix(k, "conv.weight") || strings.HasSuffix(k, "bn.weight") || strings.HasSuffix(k, "bn.bias") {
			params += v.Len()
		}
	}
	// torchvision reports 27,161,264 parameters with the aux head and the
	// 1000-class fc; without them (3,326,696 and 2,049,000) this remains.
	assert.Equal(t, 27161264-3326696-2049000, params, "parameters")
	for _, k := range []string{"Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.bn.running_mean",
		"Mixed_6e.branch7x7dbl_5.conv.weight", "Mixed_7c.branch3x3dbl_3b.bn.num_batches_tracked"} {
		assert.Contains(t, sd, k, "state dict")
	}
	if assert.Contains(t, sd, "Mixed_6b.branch7x7_2.conv.weight") {
		assert.Equal(t, []int{128, 128, 1, 7}, sd["Mixed_6b.branch7x7_2.conv.weight"].Shape(), "Mixed_6b.branch7x7_2.conv.weight")
	}
}

func TestLoadState(t *testing.T) {
	full := nn.StateDict(New()).Clone()
	// pytorch-fid's checkpoint: 1008-class fc, maybe no counters.
	withExtras := nn.State{"fc.weight": tensor.New(1008, 2048), "fc.bias": tensor.New(1008)}
	for k, v := range full {
		if !strings.HasSuffix(k, "num_batches_tracked") {
			withExtras[k] = v
		}
	}
	withExtras["Mixed_5b.branch1x1.bn.running_var"] = tensor.Full(2, 64)
	n := New()
	require.NoError(t, n.LoadState(withExtras), "LoadState with fc and without counters")
	assert.Equal(t, float32(2), n.Mixed5b.Branch1x1.BN.RunningVar.Value.At(5), "running_var loaded")

	bad := nn.State{"junk": tensor.New(1)}
	for k, v := range full {
		bad[k] = v
	}
	delete(bad, "Mixed_6a.branch3x3.conv.weight")
	bad["Conv2d_1a_3x3.conv.weight"] = tensor.New(32, 1, 3, 3)
	err := n.LoadState(bad)
	var le *nn.LoadError
	require.ErrorAs(t, err, &le, "LoadState(bad)")
	assert.Equal(t, []string{"Mixed_6a.branch3x3.conv.weight"}, le.Missing, "LoadState(bad): missing")
	assert.Equal(t, []string{"junk"}, le.Unexpected, "LoadState(bad): unexpected")
	if assert.Len(t, le.Mismatched, 1, "LoadState(bad): mismatched") {
		assert.Equal(t, "Conv2d_1a_3x3.conv.weight", le.Mismatched[0].Key, "LoadState(bad): mismatched")
	}
	assert.Regexp(t, `^inception: LoadState: `, err.Error(), "the package prefix")
	assert.Equal(t, float32(2), n.Mixed5b.Branch1x1.BN.RunningVar.Value.At(5), "failed load changed the network")

	got, err := fromState(full, map[string]string{MetaName: "my-weights"}, "test")
	if assert.NoError(t, err, "fromState with metadata") {
		assert.Equal(t, "my-weights", got.Name(), "fromState with metadata")
	}
	got, err = fromState(full, nil, "test")
	if assert.NoError(t, err, "fromState without metadata") {
		assert.Equal(t, DefaultName, got.Name(), "fromState without metadata")
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadFile(filepath.Join(dir, "none.safetensors"))
	assert.ErrorContains(t, err, "none.safetensors", "LoadFile(missing)")
	p := filepath.Join(dir, "small.safetensors")
	require.NoError(t, nn.SaveFile(p, goldenState(t).WithPrefix("weights.net."), nil))
	_, err = LoadFile(p)
	var le *nn.LoadError
	if assert.ErrorAs(t, err, &le, "LoadFile(reduced widths)") {
		assert.NotEmpty(t, le.Mismatched, "LoadFile(reduced widths): shape mismatches")
		assert.ErrorContains(t, err, p, "LoadFile(reduced widths) names the file")
	}
	_, err = Load(strings.NewReader("not a safetensors file"))
	assert.ErrorIs(t, err, nn.ErrFormat, "Load(garbage)")
}

// TestFullNetwork compares the real-size network with PyTorch on random
// weights, when the files of `gen_golden.py --full DIR` are at $EnvFull.
func TestFullNetwork(t *testing.T) {
	dir := os.Getenv(EnvFull)
	if dir == "" {
		t.Skipf("set %s=DIR after running `/usr/bin/python3 scripts/inception/gen_golden.py --full DIR` "+
			"(needs python3-torchvision; writes ~100 MB) to compare the full network with torchvision", EnvFull)
	}
	n, err := LoadFile(filepath.Join(dir, "weights.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, "inception-v3-random-test", n.Name(), "Name(): the file's metadata name")
	g, err := golden.Read(filepath.Join(dir, "golden.json"))
	require.NoError(t, err)
	ten := func(k string) *tensor.Tensor {
		gt, ok := g.Tensors[k]
		require.True(t, ok, "golden lacks %q", k)
		return tensor.FromSlice(gt.Data, gt.Shape...)
	}
	x := ten("x")
	start := time.Now()
	got := n.Features(x)
	t.Logf("features of %v in %v", x.Shape(), time.Since(start))
	e64 := checkClose(t, "full network vs float64 PyTorch", got, ten("features"), tolFull)
	e32 := relErr(got.Data(), ten("features_f32").Data())
	torch32, _ := g.Meta["torch_f32_rel_error"].(float64)
	t.Logf("max abs error / max abs: gantry vs float64 reference %.3g; gantry vs PyTorch float32 %.3g; PyTorch float32 vs float64 %.3g",
		e64, e32, torch32)
	t.Logf("largest elementwise relative error over features above 1%% of the largest: %.3g", elemRelErr(got.Data(), ten("features").Data(), 0.01))
	assert.LessOrEqual(t, e32, tolFull, "full network vs PyTorch float32")
}

// BenchmarkFeatures measures the full-size network on 16 images of 32×32
// (resized to 299×299). Weights are random unless $EnvFull names the files
// of gen_golden.py --full.
func BenchmarkFeatures(b *testing.B) {
	var n *Net
	if dir := os.Getenv(EnvFull); dir != "" {
		var err error
		if n, err = LoadFile(filepath.Join(dir, "weights.safetensors")); err != nil {
			b.Fatal(err)
		}
	} else {
		n = New()
		r := rand.New(rand.NewPCG(7, 8))
		for _, p := range nn.Parameters(n) {
			if p.Value.Dims() == 4 {
				copy(p.Value.Data(), tensor.Scale(tensor.RandN(r, p.Value.Shape()...), 0.05).Data())
			}
		}
	}
	const batch = 16
	x := tensor.RandU(rand.New(rand.NewPCG(9, 10)), -1, 1, batch, 3, 32, 32)
	b.Run(fmt.Sprintf("batch%d/32x32", batch), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = n.Features(x)
		}
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

var sink *tensor.Tensor

// The network streams through package metrics like any extractor.
func TestWithMetrics(t *testing.T) {
	n := tinyNet(t)
	noise := func(k int, r *rand.Rand) *tensor.Tensor { return tensor.RandU(r, -1, 1, k, 3, 16, 16) }
	f := metrics.SampleFeatures(n, noise, 7, rand.New(rand.NewPCG(5, 6)), metrics.Options{BatchSize: 3, Workers: 2})
	assert.Equal(t, 7, f.Len(), "SampleFeatures: features")
	assert.Equal(t, DefaultName, f.Name(), "SampleFeatures: name")
}
