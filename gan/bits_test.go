package gan_test

import (
	"context"
	"os"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/internal/bufpool"
	"github.com/gantry-go/gantry/internal/kernels"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stepBits holds the checksums of the models TestTrainingBitsPinned trains,
// by kernel capability and case, recorded from the trainer of commit 2648b40,
// before the speed-ups of issue 18. A shipped source's record pins its training the same way
// (sources.Check), so a change to the trainer's step that moves a single
// bit breaks the shipped check: optimisations of the step must leave these
// alone. Recorded with Go 1.26 and GOAMD64=v1; the avx512 ones are missing
// (recorded on an AVX2 machine), and that capability skips the test.
var stepBits = map[string]map[string]string{
	"avx2": {
		"wgan-gp": "21648ce42b9e83b5c02983acfccde3dac9bd28bc3dba8fb68660b10d07db7852",
		"acgan":   "7afb8629853bccaeaa9cdf140c00eff96e2c8493ad2da18c29af7aa12879b843",
		"ns-r1":   "752a42ad9a0569447c0b62398edbcec88c72fa644dafc8682deec39cf7a583d2",
	},
	"generic": {
		"wgan-gp": "a668905901361d22e595d3409363eb1fe7b29617c52b229150d8cf05c0d8d298",
		"acgan":   "0b781e85e75771c21cdcb632a9219fad98b7e96c19eb880fd60afc28c1b99138",
		"ns-r1":   "4224d157c9155613bfe46f58459470fd56991999890523a2f205578d54c068d5",
	},
}

// TestTrainingBitsPinned trains a few iterations of three configurations
// (WGAN-GP with EMA and DiffAugment on the paper's ResNet at 32×32;
// conditional with both AC-GAN terms; the non-saturating loss with R1) and
// requires the model's checksum to be the one recorded for the kernels'
// capability. Run it under GANTRY_CPU_CAPABILITY=generic too (or -tags
// noasm, which gives the same bits); GANTRY_RECORD_BITS=1 logs the
// checksums instead of comparing them.
func TestTrainingBitsPinned(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three models")
	}
	want := stepBits[kernels.Capability()]
	record := os.Getenv("GANTRY_RECORD_BITS") != ""
	if want == nil && !record {
		t.Skipf("no checksums recorded for capability %s", kernels.Capability())
	}
	for _, poisoned := range []bool{false, true} {
		if poisoned && record {
			break
		}
		trainBitsCases(t, want, record, poisoned)
	}
}

// trainBitsCases runs TestTrainingBitsPinned's cases. Poisoned, the tensor
// memory pool fills every buffer autograd releases with NaN and never hands
// it out again, so a buffer read after its release changes the checksum.
func trainBitsCases(t *testing.T, want map[string]string, record, poisoned bool) {
	was := bufpool.SetPoison(poisoned)
	defer bufpool.SetPoison(was)
	before := bufpool.ReadStats().Puts
	for _, tc := range []struct {
		name  string
		cfg   gan.Config
		batch int
		mod   func(*gan.Options)
	}{
		{"wgan-gp", gan.Config{Resolution: 32, Channels: 1, Width: 8, ZDim: 32}, 16, func(o *gan.Options) {
			o.EMA, o.DiffAugment = 0.9, "color,translation"
		}},
		{"acgan", gan.Config{Resolution: 16, Channels: 1, Width: 4, ZDim: 16, Classes: 3}, 8, func(*gan.Options) {}},
		{"ns-r1", gan.Config{Resolution: 16, Channels: 1, Width: 4, ZDim: 16}, 8, func(o *gan.Options) {
			o.Loss = gan.NonSaturating
		}},
	} {
		name := tc.name
		if poisoned {
			name += "/poisoned"
		}
		t.Run(name, func(t *testing.T) {
			r := rng(5)
			n := 4 * tc.batch
			x := tensor.RandU(r, -1, 1, n, 1, tc.cfg.Resolution, tc.cfg.Resolution)
			var labels []int
			if tc.cfg.Classes > 0 {
				labels = make([]int, n)
				for i := range labels {
					labels[i] = r.IntN(tc.cfg.Classes)
				}
			}
			ds := data.FromTensor(x, labels, nil)
			m, err := gan.New(tc.cfg, rng(1))
			require.NoError(t, err)
			o := gan.Options{Iterations: 3, BatchSize: tc.batch, NCritic: 2, Seed: 3}
			tc.mod(&o)
			_, err = gan.Train(context.Background(), m, ds, o)
			require.NoError(t, err)
			got := gan.Checksum(m.StateDict())
			if record {
				t.Logf("capability %s, %s: %q", kernels.Capability(), tc.name, got)
				return
			}
			require.Equal(t, want[tc.name], got, "capability %s", kernels.Capability())
		})
	}
	if poisoned {
		assert.Greater(t, bufpool.ReadStats().Puts, before, "the poisoned run released no buffer, so it checked nothing")
	}
}

// TestGeneratorStepRestoresCritic: the generator step freezes the critic's
// parameters for its Backward and must leave them as it found them: the
// trainable ones trainable, one the caller froze frozen, with no gradient.
func TestGeneratorStepRestoresCritic(t *testing.T) {
	m, err := gan.New(tinyCfg, rng(1))
	require.NoError(t, err)
	var frozen string
	for name, p := range nn.Parameters(m.D) {
		frozen = name
		p.Freeze()
		break
	}
	_, err = gan.Train(context.Background(), m, tinyData(8, 0), gan.Options{Iterations: 2, BatchSize: 4, NCritic: 1, Seed: 1})
	require.NoError(t, err)
	for name, p := range nn.Parameters(m.D) {
		if name == frozen {
			assert.True(t, p.Frozen(), name)
			assert.Nil(t, p.Grad, name)
		} else {
			assert.False(t, p.Frozen(), name)
			assert.NotNil(t, p.Grad, name)
		}
	}
}
