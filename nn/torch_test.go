package nn_test

import (
	"flag"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var writeTorch = flag.Bool("write-torch", false, "write testdata/gantry_tiny.safetensors for scripts/golden/gen_nn.py to check in PyTorch")

// tiny is the twin of Tiny in scripts/golden/gen_nn.py.
type tiny struct {
	ConvIn *nn.Conv2d          `nn:"conv_in"`
	BN     *nn.BatchNorm2d     `nn:"bn"`
	Blocks []*nn.ResidualBlock `nn:"blocks"`
	FC     *nn.Linear          `nn:"fc"`
}

type tinyConfig struct {
	In, Dim, Out int
}

func newTiny(c tinyConfig, r *rand.Rand) *tiny {
	return &tiny{
		ConvIn: nn.NewConv2d(c.In, c.Dim, 3, nn.ConvOptions{Padding: nn.PadSame}, r),
		BN:     nn.NewBatchNorm2d(c.Dim),
		Blocks: []*nn.ResidualBlock{
			nn.NewResidualBlock(c.Dim, c.Dim+2, 3, nn.ResampleDown, nn.LayerNorms(), r),
			nn.NewResidualBlock(c.Dim+2, c.Dim+2, 3, nn.ResampleNone, nn.BatchNorms(nn.UseRunningStats), r),
		},
		FC: nn.NewLinear((c.Dim+2)*2*2, c.Out, true, r),
	}
}

func (m *tiny) Forward(x *autograd.Var) *autograd.Var {
	h := autograd.ReLU(m.BN.Forward(m.ConvIn.Forward(x)))
	for _, b := range m.Blocks {
		h = b.Forward(h)
	}
	return m.FC.Forward(nn.Flatten{}.Forward(h))
}

var tinyCfg = tinyConfig{In: 3, Dim: 4, Out: 2}

func TestLoadPyTorchFile(t *testing.T) {
	sd, meta, err := nn.LoadFile("testdata/torch_tiny.safetensors")
	require.NoError(t, err)
	assert.Equal(t, "pt", meta["format"], "metadata %v", meta)
	m := newTiny(tinyCfg, nil)
	require.NoError(t, nn.LoadStateDict(m, sd, nn.LoadOptions{}))
	assert.Equal(t, float32(3), m.BN.NumBatchesTracked.Value.Item(), "bn.num_batches_tracked (stored as I64)")
	nn.SetTraining(m, false)
	g := loadGolden(t, "torch_tiny.json")
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(autograd.Const(g["x"])) })
	assert.Empty(t, closeTo(out.Value, g["out"], tolTorchFile, 0), "Tiny(x) with PyTorch's weights")
}

// TestWriteTinyForTorch saves a gantry-initialised Tiny with a check input
// and output, reloads it, and with -write-torch writes it to testdata for
// gen_nn.py to load in PyTorch.
func TestWriteTinyForTorch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m := newTiny(tinyCfg, r)
	autograd.NoGrad(func() {
		for i := range 3 {
			m.Forward(autograd.Const(tensor.RandU(r, -1+0.3*float32(i), 1+0.3*float32(i), 4, 3, 4, 4)))
		}
	})
	nn.SetTraining(m, false)
	x := tensor.RandU(r, -1, 1, 2, 3, 4, 4)
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(autograd.Const(x)) })
	sd := nn.StateDict(m)
	sd["check.x"], sd["check.out"] = x, out.Value
	meta := map[string]string{"source": "nn/torch_test.go TestWriteTinyForTorch"}
	require.NoError(t, nn.SetConfig(meta, tinyCfg))
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if *writeTorch {
		path = "testdata/gantry_tiny.safetensors"
	}
	require.NoError(t, nn.SaveFile(path, sd, meta))
	// The file rebuilds its own model from the config it carries.
	got, gotMeta, err := nn.LoadFile(path)
	require.NoError(t, err)
	var cfg tinyConfig
	require.NoError(t, nn.Config(gotMeta, &cfg))
	require.Equal(t, tinyCfg, cfg, "config")
	m2 := newTiny(cfg, nil)
	require.NoError(t, nn.LoadStateDict(m2, got.WithoutPrefix("check."), nn.LoadOptions{}))
	nn.SetTraining(m2, false)
	var out2 *autograd.Var
	autograd.NoGrad(func() { out2 = m2.Forward(autograd.Const(got["check.x"])) })
	assert.Equal(t, got["check.out"].Shape(), out2.Value.Shape(), "reloaded model output")
	assert.Equal(t, got["check.out"].Data(), out2.Value.Data(), "reloaded model output")
}

// TestCommittedGantryFile reads the file gen_nn.py checked in PyTorch, so a
// change to the writer that the committed file no longer matches shows up.
func TestCommittedGantryFile(t *testing.T) {
	got, meta, err := nn.LoadFile("testdata/gantry_tiny.safetensors")
	require.NoError(t, err)
	var cfg tinyConfig
	require.NoError(t, nn.Config(meta, &cfg))
	m := newTiny(cfg, nil)
	require.NoError(t, nn.LoadStateDict(m, got.WithoutPrefix("check."), nn.LoadOptions{}))
	nn.SetTraining(m, false)
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(autograd.Const(got["check.x"])) })
	assert.Empty(t, closeTo(out.Value, got["check.out"], tolGantryFile, 0), "output")
}
