package gan_test

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// The paper's own count of G and D parameters (64×64 RGB, z of 128), in
// millions to two decimals.
func TestParamCountsMatchPaper(t *testing.T) {
	for _, tc := range []struct {
		width int
		g, d  float64
	}{{64, 8.54, 7.49}, {32, 2.40, 1.88}, {16, 0.73, 0.47}} {
		cfg := gan.Config{Width: tc.width}
		g, d := gan.NewGenerator(cfg, nil), gan.NewCritic(cfg, nil)
		assert.InDelta(t, tc.g, float64(gan.NumParams(g))/1e6, 0.005, "G params at d=%d", tc.width)
		assert.InDelta(t, tc.d, float64(gan.NumParams(d))/1e6, 0.005, "D params at d=%d", tc.width)
	}
}

func TestShapes(t *testing.T) {
	for _, cfg := range []gan.Config{
		{Resolution: 16, Channels: 1, Width: 4},
		{Resolution: 32, Channels: 1, Width: 4},
		{Resolution: 64, Channels: 3, Width: 2},
		{Resolution: 128, Channels: 3, Width: 1},
		{Resolution: 32, Channels: 1, Width: 4, Classes: 10},
		{Resolution: 32, Channels: 3, Width: 4, Classes: 3, Conditioning: gan.CondConcat},
	} {
		t.Run(cfg.String(), func(t *testing.T) {
			r := rng(1)
			g, d := gan.NewGenerator(cfg, r), gan.NewCritic(cfg, r)
			x := g.Sample(5, r)
			c := cfg.WithDefaults()
			require.Equal(t, []int{5, c.Channels, c.Resolution, c.Resolution}, x.Shape())
			for _, v := range x.Data() {
				require.True(t, v >= -1 && v <= 1, "sample value %v outside [-1, 1]", v)
			}
			s, logits := d.ForwardClasses(autograd.Const(x))
			require.Equal(t, []int{5, 1}, s.Value.Shape())
			if cfg.Classes > 0 {
				require.Equal(t, []int{5, cfg.Classes}, logits.Value.Shape())
			} else {
				require.Nil(t, logits)
			}
		})
	}
}

func TestConfigValidateListsEveryField(t *testing.T) {
	err := gan.Config{Resolution: 48, Channels: 2, Width: -1, ZDim: -3, Conditioning: gan.CondConcat}.Validate()
	require.Error(t, err)
	for _, field := range []string{"Resolution", "Channels", "Width", "ZDim", "Conditioning"} {
		assert.Contains(t, err.Error(), field+":")
	}
	require.NoError(t, gan.Config{}.Validate())
	assert.Panics(t, func() { gan.NewGenerator(gan.Config{Resolution: 48}, nil) })
}

// The paper's initialisation: uniform weights whose standard deviation is the
// rule's σ, zero biases.
func TestInitialisation(t *testing.T) {
	cfg := gan.Config{Resolution: 32, Channels: 1, Width: 16}
	r := rng(3)
	g, d := gan.NewGenerator(cfg, r), gan.NewCritic(cfg, r)
	std := func(x *tensor.Tensor) float64 {
		var s float64
		for _, v := range x.Data() {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s / float64(x.Len()))
	}
	in, out := 128, 8*16*2*2
	assert.InDelta(t, math.Sqrt(2/float64(in+out)), std(g.Input.Weight.Value), 0.002)
	assert.InDelta(t, math.Sqrt(4/float64(16*9+1*9)), std(g.Output.Weight.Value), 0.02)
	assert.InDelta(t, math.Sqrt(2/float64(1*9+16*9)), std(d.Input.Weight.Value), 0.03)
	assert.InDelta(t, math.Sqrt(4/float64(16*9+16*9)), std(d.Blocks[0].Conv1.Weight.Value), 0.01)
	for _, b := range []*tensor.Tensor{g.Input.Bias.Value, g.Output.Bias.Value, d.Output.Bias.Value} {
		assert.Equal(t, 0.0, std(b))
	}
}

// Sample draws the same images from the same seed, in any chunking, and
// leaves the running statistics and the training mode alone.
func TestSampleDeterministic(t *testing.T) {
	cfg := gan.Config{Resolution: 16, Channels: 1, Width: 4}
	g := gan.NewGenerator(cfg, rng(1))
	a, b := g.Sample(70, rng(9)), g.Sample(70, rng(9))
	require.Equal(t, a.Data(), b.Data())
	// 70 images go through as two batches of 35.
	z := tensor.RandN(rng(9), 70, 128)
	first := g.Generate(tensor.Slice(z, 0, 0, 35), nil)
	assert.Equal(t, first.Data(), a.Data()[:first.Len()])
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, cfg := range []gan.Config{
		{Resolution: 16, Channels: 1, Width: 4},
		{Resolution: 32, Channels: 3, Width: 2, Classes: 4, Conditioning: gan.CondConcat},
		{Resolution: 16, Channels: 1, Width: 2, Classes: 3},
	} {
		m, err := gan.New(cfg, rng(5))
		require.NoError(t, err)
		path := t.TempDir() + "/m.safetensors"
		require.NoError(t, gan.Save(path, m))
		back, err := gan.Load(path)
		require.NoError(t, err)
		assert.Equal(t, m.Config, back.Config)
		assert.Nil(t, back.EMA)
		assert.Equal(t, gan.Checksum(m.StateDict()), gan.Checksum(back.StateDict()))
		assert.Equal(t, m.G.Sample(3, rng(2)).Data(), back.G.Sample(3, rng(2)).Data())
	}
}

func TestLoadErrors(t *testing.T) {
	m, err := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 2}, rng(5))
	require.NoError(t, err)
	dir := t.TempDir()
	path := dir + "/m.safetensors"
	require.NoError(t, gan.Save(path, m))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)

	// Flip one byte of the last tensor's data: the checksum catches it.
	bad := slices.Clone(raw)
	bad[len(bad)-3] ^= 0x40
	require.NoError(t, os.WriteFile(dir+"/flipped.safetensors", bad, 0o644))
	_, err = gan.Load(dir + "/flipped.safetensors")
	require.ErrorIs(t, err, gan.ErrChecksum)
	assert.Contains(t, err.Error(), "flipped.safetensors")

	// Truncated, missing, and not a gan file.
	require.NoError(t, os.WriteFile(dir+"/short.safetensors", raw[:len(raw)/2], 0o644))
	for _, p := range []string{dir + "/short.safetensors", dir + "/none.safetensors"} {
		_, err = gan.Load(p)
		require.Error(t, err)
		assert.Contains(t, err.Error(), p)
	}
}

func TestSaveHalf(t *testing.T) {
	m, err := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 4}, rng(5))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, gan.Save(dir+"/full.safetensors", m))
	require.NoError(t, gan.SaveHalf(dir+"/half.safetensors", m))
	full, _ := os.Stat(dir + "/full.safetensors")
	half, _ := os.Stat(dir + "/half.safetensors")
	assert.Less(t, float64(half.Size()), 0.6*float64(full.Size()))
	back, err := gan.Load(dir + "/half.safetensors")
	require.NoError(t, err)
	sd := m.StateDict()
	for k, v := range back.StateDict() {
		for i, x := range v.Data() {
			w := sd[k].Data()[i]
			require.InDelta(t, w, x, 1e-3*math.Abs(float64(w))+1e-7, "%s[%d]", k, i)
		}
	}
}

func TestSampleOneAt16Panics(t *testing.T) {
	g := gan.NewGenerator(gan.Config{Resolution: 16, Channels: 1, Width: 2}, rng(1))
	assert.PanicsWithValue(t, "gan: Generator.Generate: 1 image at 16x16: the first batch norm sees one value per sample and channel there, so a batch needs at least 2", func() { g.Sample(1, rng(2)) })
	assert.Equal(t, []int{2, 1, 16, 16}, g.Sample(2, rng(2)).Shape())
	assert.Equal(t, []int{1, 1, 32, 32}, gan.NewGenerator(gan.Config{Resolution: 32, Channels: 1, Width: 2}, rng(1)).Sample(1, rng(2)).Shape())
}
