package nn_test

import (
	"flag"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
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
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v", meta)
	}
	m := newTiny(tinyCfg, nil)
	if err := nn.LoadStateDict(m, sd, nn.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := m.BN.NumBatchesTracked.Value.Item(); n != 3 {
		t.Errorf("bn.num_batches_tracked (stored as I64) = %v; want 3", n)
	}
	nn.SetTraining(m, false)
	g := loadGolden(t, "torch_tiny.json")
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(autograd.Const(g["x"])) })
	if msg := closeTo(out.Value, g["out"], 1e-5, 0); msg != "" {
		t.Errorf("Tiny(x) with PyTorch's weights: %s", msg)
	}
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
	if err := nn.SetConfig(meta, tinyCfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if *writeTorch {
		path = "testdata/gantry_tiny.safetensors"
	}
	if err := nn.SaveFile(path, sd, meta); err != nil {
		t.Fatal(err)
	}
	// The file rebuilds its own model from the config it carries.
	got, gotMeta, err := nn.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg tinyConfig
	if err := nn.Config(gotMeta, &cfg); err != nil || cfg != tinyCfg {
		t.Fatalf("config %+v, %v; want %+v", cfg, err, tinyCfg)
	}
	m2 := newTiny(cfg, nil)
	if err := nn.LoadStateDict(m2, got.WithoutPrefix("check."), nn.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	nn.SetTraining(m2, false)
	var out2 *autograd.Var
	autograd.NoGrad(func() { out2 = m2.Forward(autograd.Const(got["check.x"])) })
	if !tensor.Equal(out2.Value, got["check.out"]) {
		t.Errorf("reloaded model output %v; want %v", out2.Value, got["check.out"])
	}
}

// TestCommittedGantryFile reads the file gen_nn.py checked in PyTorch, so a
// change to the writer that the committed file no longer matches shows up.
func TestCommittedGantryFile(t *testing.T) {
	got, meta, err := nn.LoadFile("testdata/gantry_tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var cfg tinyConfig
	if err := nn.Config(meta, &cfg); err != nil {
		t.Fatal(err)
	}
	m := newTiny(cfg, nil)
	if err := nn.LoadStateDict(m, got.WithoutPrefix("check."), nn.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	nn.SetTraining(m, false)
	var out *autograd.Var
	autograd.NoGrad(func() { out = m.Forward(autograd.Const(got["check.x"])) })
	if msg := closeTo(out.Value, got["check.out"], 1e-6, 0); msg != "" {
		t.Errorf("output %s", msg)
	}
}
