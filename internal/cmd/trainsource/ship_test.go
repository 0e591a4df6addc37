package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shipping a (tiny) run writes the float16 weights, the record, the grid and
// the README section, and the weights load and measure as recorded; a
// conditional source also records how often its samples show their class.
func TestShip(t *testing.T) {
	train, err := shipped.MNIST(data.Resolution(32))
	require.NoError(t, err)
	held, err := shipped.MNISTEval(data.Resolution(32))
	require.NoError(t, err)
	for _, name := range []string{"mnist", "mnist-cond"} {
		t.Run(name, func(t *testing.T) {
			run, dir := t.TempDir(), t.TempDir()
			cfg := recipes[name].cfg
			cfg.Width = 2
			m, err := gan.New(cfg, rand.New(rand.NewPCG(1, 1)))
			require.NoError(t, err)
			_, err = gan.Train(context.Background(), m, train, gan.Options{
				Iterations: 2, BatchSize: 8, NCritic: 1, EMA: 0.9, Dir: run, LogEvery: 1,
				Eval: &gan.Eval{Every: 1, Real: held, Samples: 50, Metrics: []string{"fid"}},
			})
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("# models\n"), 0o644))
			log, err := os.ReadFile(filepath.Join(run, gan.LogFile))
			require.NoError(t, err)
			assert.Contains(t, string(log), fmt.Sprintf("kernels %s, %d threads", tensor.Kernels(), runtime.GOMAXPROCS(0)), "the trainer's start line")

			require.NoError(t, shipSource(name, recipes[name], run, dir))
			for _, f := range []string{".safetensors", ".json", ".png"} {
				assert.FileExists(t, filepath.Join(dir, name+f))
			}
			var rec sources.Record
			b, err := os.ReadFile(filepath.Join(dir, name+".json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &rec))
			assert.Equal(t, 2, rec.Iteration)
			assert.Equal(t, 2, rec.Check.Iteration)
			assert.Len(t, rec.Check.SHA256, 64)
			assert.Equal(t, tensor.Kernels(), rec.Check.Kernels)
			assert.Equal(t, runtime.GOMAXPROCS(0), rec.Check.Threads)
			assert.InDelta(t, rec.FIDFloat32, rec.FID, 0.01*rec.FIDFloat32)
			back, err := gan.Load(filepath.Join(dir, name+".safetensors"))
			require.NoError(t, err)
			rep, err := sources.Evaluate(back, name)
			require.NoError(t, err)
			assert.Equal(t, rec.FID, rep.FID.Value)

			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			require.NoError(t, err)
			assert.Contains(t, string(readme), "<!-- source:"+name+" -->")
			assert.Contains(t, string(readme), "| 2 |")
			if cfg.Classes > 0 {
				acc, heldAcc, err := sources.LabelAccuracy(back, name)
				require.NoError(t, err)
				assert.Equal(t, acc, rec.LabelAccuracy)
				assert.Greater(t, rec.HeldOutAccuracy, 0.9)
				assert.Equal(t, heldAcc, rec.HeldOutAccuracy)
				assert.Contains(t, string(readme), "one row per class")
				assert.Contains(t, string(readme), "AC-GAN class head")
			} else {
				assert.Zero(t, rec.HeldOutAccuracy)
				assert.NotContains(t, string(readme), "Conditioning")
			}
			// Shipping again replaces the section rather than adding one.
			require.NoError(t, shipSource(name, recipes[name], run, dir))
			again, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			assert.Equal(t, len(readme), len(again))
		})
	}
}

// The check records the kernels and threads of the run's first session, from
// its log; a log that does not say gets this machine's.
func TestWithArithmetic(t *testing.T) {
	here := sources.Check{Kernels: tensor.Kernels(), Threads: runtime.GOMAXPROCS(0)}
	for _, tc := range []struct {
		name, log string
		want      sources.Check
	}{
		{"recorded", "2026-12-03T10:00:00Z start: 32x32x1 d=16, 60000 images (data fd7b8a352f53), kernels avx512, 4 threads, options {}\n" +
			"2026-12-04T10:00:00Z resume from checkpoint-000050.safetensors at iteration 50, to 100, kernels generic, 1 threads\n",
			sources.Check{Kernels: "avx512", Threads: 4}},
		{"older log", "2026-12-03T10:00:00Z start: 32x32x1 d=16, 60000 images (data fd7b8a352f53), options {}\n", here},
		{"empty", "", here},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, withArithmetic(sources.Check{}, []byte(tc.log)))
		})
	}
}
