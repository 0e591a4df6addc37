package metrics_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/internal/golden"
	"github.com/gantry-go/gantry/metrics/inception"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tolInception bounds |got - want| / (1 + |want|) for the full-size
// InceptionV3's pool3 features against torchvision's in float64: some 90
// float32 layers. It is the one tolerance of package metrics_test.
const tolInception = 1e-4

// detState fills every tensor of the full-size FID Inception by the formula
// of scripts/golden/gen_metrics.py (det_uniform, det_range), so that gantry
// and PyTorch run the same weights without a 95 MB file: element i of the
// tensor called name is lo + (hi−lo)·u, u the top 24 bits of
// fmix32(i·0x9E3779B1 + fnv1a32(name)) over 2^24.
func detState(names []string, shapes map[string][]int) nn.State {
	sd := nn.State{}
	for _, name := range names {
		shape := shapes[name]
		n := 1
		for _, d := range shape {
			n *= d
		}
		var lo, hi float64
		switch {
		case strings.HasSuffix(name, "conv.weight"):
			b := math.Sqrt(6 / float64(n/shape[0]))
			lo, hi = -b, b
		case strings.HasSuffix(name, "bn.weight"):
			lo, hi = 0.8, 1.2
		case strings.HasSuffix(name, "bn.bias"):
			lo, hi = -0.1, 0.1
		case strings.HasSuffix(name, "bn.running_mean"):
			lo, hi = -0.05, 0.05
		case strings.HasSuffix(name, "bn.running_var"):
			lo, hi = 0.5, 1.5
		default:
			continue
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
		sd[name] = tensor.FromSlice(data, shape...)
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

// TestFullSizeInception checks the full-size network of package inception,
// through the metrics Extractor interface, against torchvision 0.14's
// Inception3 with pytorch-fid's FID blocks, run in float64 by PyTorch on the
// same deterministic weights (metrics/testdata/inception.json, 107 kB):
// the state-dict names must agree exactly and the 2048-d pool features of two
// 20×26 RGB images, resized to 299×299, within 1e-4.
func TestFullSizeInception(t *testing.T) {
	if testing.Short() {
		t.Skip("full InceptionV3 forward pass (about 12 GFLOP)")
	}
	f, err := golden.Read("testdata/inception.json")
	require.NoError(t, err)
	var names []string
	for _, k := range f.Meta["state_keys"].([]any) {
		names = append(names, k.(string))
	}
	net := inception.New()
	shapes := map[string][]int{}
	var ours []string
	for name, tt := range nn.StateDict(net) {
		if strings.HasSuffix(name, "num_batches_tracked") {
			continue
		}
		shapes[name] = tt.Shape()
		ours = append(ours, name)
	}
	slices.Sort(ours)
	require.Equal(t, names, ours, "state-dict names against torchvision's")
	require.NoError(t, net.LoadState(detState(names, shapes)))
	img := f.Tensors["images"]
	got := net.Features(tensor.FromSlice(img.Data, img.Shape...))
	want := f.Tensors["pool3"]
	require.Equal(t, want.Shape, got.Shape(), "features' shape")
	var worst float64
	for i, v := range got.Data() {
		worst = max(worst, math.Abs(float64(v)-float64(want.Data[i]))/(1+math.Abs(float64(want.Data[i]))))
	}
	t.Logf("pool3: largest |got-want|/(1+|want|) = %.3g", worst)
	assert.LessOrEqual(t, worst, tolInception, "pool3: largest |got-want|/(1+|want|)")
}
