package metrics

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// detState fills every tensor the network needs by the formula of
// scripts/golden/gen_metrics.py (det_uniform, det_range), so that Go and
// PyTorch run the same weights without a 95 MB file.
func detState() nn.State {
	names, shapes := inceptionKeys()
	sd := nn.State{}
	for i, name := range names {
		n := 1
		for _, d := range shapes[i] {
			n *= d
		}
		var lo, hi float64
		switch {
		case strings.HasSuffix(name, "conv.weight"):
			b := math.Sqrt(6 / float64(n/shapes[i][0]))
			lo, hi = -b, b
		case strings.HasSuffix(name, "bn.weight"):
			lo, hi = 0.8, 1.2
		case strings.HasSuffix(name, "bn.bias"):
			lo, hi = -0.1, 0.1
		case strings.HasSuffix(name, "bn.running_mean"):
			lo, hi = -0.05, 0.05
		case strings.HasSuffix(name, "bn.running_var"):
			lo, hi = 0.5, 1.5
		}
		seed := fnv1a32(name)
		data := make([]float32, n)
		for j := range data {
			x := uint32(j)*0x9E3779B1 + seed
			x ^= x >> 16
			x *= 0x85EBCA6B
			x ^= x >> 13
			x *= 0xC2B2AE35
			x ^= x >> 16
			u := float64(x>>8) / (1 << 24)
			data[j] = float32(lo + (hi-lo)*u)
		}
		sd[name] = tensor.FromSlice(data, shapes[i]...)
	}
	return sd
}

func fnv1a32(s string) uint32 {
	h := uint32(0x811C9DC5)
	for i := range len(s) {
		h ^= uint32(s[i])
		h *= 0x01000193
	}
	return h
}

// TestGoldenInception checks the network against torchvision 0.14's
// Inception3 with pytorch-fid's blocks, run in float64 by PyTorch on the same
// deterministic weights: the state-dict names must agree exactly and the pool
// features within 1e-4.
func TestGoldenInception(t *testing.T) {
	if testing.Short() {
		t.Skip("InceptionV3 forward pass (about 12 GFLOP)")
	}
	f, err := golden.Read("testdata/inception.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range f.Meta["state_keys"].([]any) {
		want = append(want, k.(string))
	}
	got, _ := inceptionKeys()
	got = slices.Sorted(slices.Values(got))
	if !slices.Equal(got, want) {
		t.Fatalf("state-dict names differ from torchvision's:\n got %d names\nwant %d names", len(got), len(want))
	}
	m, err := NewInception(detState(), "deterministic")
	if err != nil {
		t.Fatal(err)
	}
	img := f.Tensors["images"]
	x := tensor.FromSlice(img.Data, img.Shape...)
	pooled, means := m.forward(resizeBilinear(x, 299, 299))
	check := func(name string, got *tensor.Tensor) {
		t.Helper()
		w := f.Tensors[name]
		if !slices.Equal(got.Shape(), w.Shape) {
			t.Fatalf("%s: shape %v; want %v", name, got.Shape(), w.Shape)
		}
		var worst float64
		for i, v := range got.Data() {
			e := math.Abs(float64(v)-float64(w.Data[i])) / (1 + math.Abs(float64(w.Data[i])))
			worst = max(worst, e)
		}
		t.Logf("%s: largest error %.3g", name, worst)
		if worst > 1e-4 {
			t.Errorf("%s: largest error |got-want|/(1+|want|) = %.3g; want at most 1e-4", name, worst)
		}
	}
	check("mean_block0", means[0])
	check("mean_block1", means[1])
	check("mean_block2", means[2])
	check("pool3", pooled)

	// The public path (grayscale is repeated to RGB) is deterministic.
	a := m.Features(tensor.Slice(x, 1, 0, 1))
	b := m.Features(tensor.Slice(x, 1, 0, 1))
	if !tensor.Equal(a, b) || !slices.Equal(a.Shape(), []int{2, 2048}) {
		t.Errorf("Features of grayscale images: shape %v, repeatable %v", a.Shape(), tensor.Equal(a, b))
	}
}

func TestNewInceptionReportsBadWeights(t *testing.T) {
	sd := detState()
	delete(sd, "Mixed_6b.branch7x7_2.conv.weight")
	sd["Conv2d_1a_3x3.bn.weight"] = tensor.Zeros(31)
	sd["fc.weight"] = tensor.Zeros(1008, 2048) // ignored
	_, err := NewInception(sd, "x")
	if err == nil || !strings.Contains(err.Error(), "missing Mixed_6b.branch7x7_2.conv.weight") ||
		!strings.Contains(err.Error(), "Conv2d_1a_3x3.bn.weight has shape [31]") {
		t.Errorf("NewInception with bad weights: %v", err)
	}
}

// The private image operations against direct definitions.
func TestImageOps(t *testing.T) {
	x := tensor.FromSlice([]float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
	}, 1, 1, 3, 4)
	if got := maxPool3(x, 1, 1).Data(); !slices.Equal(got, []float32{6, 7, 8, 8, 10, 11, 12, 12, 10, 11, 12, 12}) {
		t.Errorf("maxPool3(stride 1, pad 1) = %v", got)
	}
	if got := maxPool3(x, 2, 0).Data(); !slices.Equal(got, []float32{11}) {
		t.Errorf("maxPool3(stride 2) = %v", got)
	}
	// Corner: mean of 1, 2, 5, 6; edge: mean of 1, 2, 3, 5, 6, 7.
	got := avgPool3Same(x).Data()
	if got[0] != 3.5 || got[1] != 4 || got[5] != 6 {
		t.Errorf("avgPool3Same = %v", got)
	}
	// Upsampling 2 -> 4 with align_corners false: weights 1, .75/.25, .25/.75, 1.
	r := interpMatrix(2, 4).Data()
	if !slices.Equal(r, []float32{1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1}) {
		t.Errorf("interpMatrix(2, 4) = %v", r)
	}
	y := resizeBilinear(tensor.FromSlice([]float32{0, 4}, 1, 1, 1, 2), 1, 4).Data()
	if !slices.Equal(y, []float32{0, 1, 3, 4}) {
		t.Errorf("resizeBilinear = %v", y)
	}
}
