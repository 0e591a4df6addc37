package gan_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyData returns n 16×16 gray images (blobs at random places) with labels
// 0..classes-1.
func tinyData(n, classes int) *data.Memory {
	r := rng(77)
	x := tensor.New(n, 1, 16, 16)
	labels := make([]int, n)
	d := x.Data()
	for i := range n {
		cy, cx := 4+r.IntN(8), 4+r.IntN(8)
		for y := range 16 {
			for xx := range 16 {
				v := -1.0
				if (y-cy)*(y-cy)+(xx-cx)*(xx-cx) < 9 {
					v = 1
				}
				d[(i*16+y)*16+xx] = float32(v)
			}
		}
		if classes > 0 {
			labels[i] = i % classes
		}
	}
	return data.FromTensor(x, labels, nil)
}

var tinyCfg = gan.Config{Resolution: 16, Channels: 1, Width: 2, ZDim: 8}

func tinyOpts(dir string, iters int) gan.Options {
	return gan.Options{
		Iterations: iters, BatchSize: 4, NCritic: 2, Seed: 11, Dir: dir,
		LogEvery: 2, CheckpointEvery: 3, GridSize: 4, EMA: 0.9, DiffAugment: "color,translation",
	}
}

func readStats(t *testing.T, dir string) []map[string]any {
	f, err := os.Open(filepath.Join(dir, gan.StatsFile))
	require.NoError(t, err)
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		delete(m, "timing") // the only fields that vary between runs
		lines = append(lines, m)
	}
	return lines
}

func sameWeights(t *testing.T, a, b *gan.Model) {
	t.Helper()
	sa, sb := a.StateDict(), b.StateDict()
	require.Equal(t, len(sa), len(sb))
	for k, v := range sa {
		w := sb[k]
		require.NotNil(t, w, k)
		for i, x := range v.Data() {
			if math.Float32bits(x) != math.Float32bits(w.Data()[i]) {
				t.Fatalf("%s[%d]: %v != %v", k, i, x, w.Data()[i])
			}
		}
	}
}

func TestResumeIsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gan.Config
		mod  func(*gan.Options)
	}{
		{"wgan-gp", tinyCfg, func(*gan.Options) {}},
		{"acgan-hinge", gan.Config{Resolution: 16, Channels: 1, Width: 2, ZDim: 8, Classes: 3}, func(o *gan.Options) { o.Loss = gan.Hinge }},
		{"ns-r1-ada", tinyCfg, func(o *gan.Options) {
			o.Loss, o.DiffAugment, o.ADA = gan.NonSaturating, "", true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := tinyData(12, tc.cfg.Classes)
			straight, split := t.TempDir(), t.TempDir()

			m, err := gan.New(tc.cfg, rng(1))
			require.NoError(t, err)
			o := tinyOpts(straight, 7)
			tc.mod(&o)
			a, err := gan.Train(context.Background(), m, ds, o)
			require.NoError(t, err)
			require.Equal(t, 7, a.Iteration)

			m, err = gan.New(tc.cfg, rng(1))
			require.NoError(t, err)
			o = tinyOpts(split, 4)
			tc.mod(&o)
			_, err = gan.Train(context.Background(), m, ds, o)
			require.NoError(t, err)
			o.Iterations, o.Resume = 7, true
			b, err := gan.Train(context.Background(), nil, ds, o)
			require.NoError(t, err)
			require.Equal(t, 7, b.Iteration)

			sameWeights(t, a.Model, b.Model)
			assert.Equal(t, readStats(t, straight), readStats(t, split))
			for _, it := range []int{0, 2, 5, 7} {
				x, err := os.ReadFile(filepath.Join(straight, gan.GridName(it)))
				require.NoError(t, err)
				y, err := os.ReadFile(filepath.Join(split, gan.GridName(it)))
				require.NoError(t, err)
				assert.Equal(t, x, y, "grid at %d", it)
			}
		})
	}
}

// Cancelling writes a checkpoint from which the run continues exactly.
func TestCancelThenResume(t *testing.T) {
	ds := tinyData(12, 0)
	straight, split := t.TempDir(), t.TempDir()
	m, _ := gan.New(tinyCfg, rng(1))
	a, err := gan.Train(context.Background(), m, ds, tinyOpts(straight, 6))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	o := tinyOpts(split, 6)
	o.OnProgress = func(p gan.Progress) {
		if p.Iteration == 4 {
			cancel()
		}
	}
	m, _ = gan.New(tinyCfg, rng(1))
	res, err := gan.Train(ctx, m, ds, o)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 4, res.Iteration)
	require.FileExists(t, filepath.Join(split, gan.CheckpointName(4)))

	o.OnProgress, o.Resume = nil, true
	b, err := gan.Train(context.Background(), nil, ds, o)
	require.NoError(t, err)
	sameWeights(t, a.Model, b.Model)
	assert.Equal(t, readStats(t, straight), readStats(t, split))
}

func TestRunFolder(t *testing.T) {
	dir := t.TempDir()
	m, _ := gan.New(tinyCfg, rng(1))
	o := tinyOpts(dir, 7)
	o.KeepCheckpoints = 1
	_, err := gan.Train(context.Background(), m, tinyData(12, 0), o)
	require.NoError(t, err)
	for _, name := range []string{gan.OptionsFile, gan.LogFile, gan.StatsFile, gan.RealsFile, gan.GridName(0), gan.GridName(5), gan.GridName(7), gan.CheckpointName(7)} {
		assert.FileExists(t, filepath.Join(dir, name))
	}
	assert.NoFileExists(t, filepath.Join(dir, gan.CheckpointName(6)))
	assert.Len(t, readStats(t, dir), 4) // iterations 2, 4, 6, 7

	// A checkpoint is a model file too.
	back, err := gan.Load(filepath.Join(dir, gan.CheckpointName(7)))
	require.NoError(t, err)
	require.NotNil(t, back.EMA)

	// Training again into the same folder without Resume is refused.
	_, err = gan.NewTrainer(back, tinyData(12, 0), o)
	require.ErrorIs(t, err, gan.ErrRunExists)
	// Resuming with other options is refused, naming them.
	o.Resume, o.BatchSize = true, 6
	_, err = gan.NewTrainer(nil, tinyData(12, 0), o)
	require.ErrorContains(t, err, "batch_size was 4, now 6")
}

func TestNaNStopsTraining(t *testing.T) {
	dir := t.TempDir()
	m, _ := gan.New(tinyCfg, rng(1))
	o := tinyOpts(dir, 9)
	o.Hooks.Penalty = func(net string, it int) *autograd.Var {
		if it == 4 && net == "g" {
			return autograd.Const(tensor.Scalar(float32(math.NaN())))
		}
		return nil
	}
	res, err := gan.Train(context.Background(), m, tinyData(12, 0), o)
	var nan *gan.NaNError
	require.ErrorAs(t, err, &nan)
	assert.Equal(t, 4, nan.Iteration)
	assert.Equal(t, "generator step", nan.Step)
	assert.Equal(t, 4, res.Iteration)
	// The last checkpoint is the good one of iteration 3.
	last, err := gan.LatestCheckpoint(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, gan.CheckpointName(3)), last)
	_, err = gan.Load(last)
	require.NoError(t, err)
}

func TestNaNGradientNamesTheParameter(t *testing.T) {
	m, _ := gan.New(tinyCfg, rng(1))
	// Poison one critic weight: the first loss is already NaN.
	m.D.Blocks[1].Conv1.Weight.Value.Data()[0] = float32(math.Inf(1))
	_, err := gan.Train(context.Background(), m, tinyData(12, 0), gan.Options{Iterations: 2, BatchSize: 4})
	var nan *gan.NaNError
	require.ErrorAs(t, err, &nan)
	assert.Equal(t, "critic step 1 of 5", nan.Step)
}

func TestOptionsValidateListsEveryOption(t *testing.T) {
	err := gan.Options{Iterations: 0, BatchSize: -1, LRG: 2, Beta1: 1, DiffAugment: "sparkle", Eval: &gan.Eval{}}.Validate()
	require.Error(t, err)
	for _, want := range []string{"Iterations", "BatchSize", "LRG", "Beta1", "DiffAugment", "Eval.Every", "Eval.Real"} {
		assert.Contains(t, err.Error(), want)
	}
	var oe *gan.OptionsError
	require.True(t, errors.As(err, &oe))
}

func TestDatasetMustFitModel(t *testing.T) {
	m, _ := gan.New(gan.Config{Resolution: 32, Channels: 1, Width: 2}, rng(1))
	_, err := gan.NewTrainer(m, tinyData(4, 0), gan.Options{Iterations: 1})
	require.ErrorContains(t, err, "[1 16 16]")
	m, _ = gan.New(gan.Config{Resolution: 16, Channels: 1, Width: 2, Classes: 2}, rng(1))
	_, err = gan.NewTrainer(m, tinyData(4, 3), gan.Options{Iterations: 1})
	require.ErrorContains(t, err, "label 2")
}

func TestGridIterations(t *testing.T) {
	assert.Equal(t, []int{0, 2, 5, 15, 39, 99, 251, 632, 1591, 4000}, gan.GridIterations(9999))
	assert.Equal(t, []int{0, 2, 5}, gan.GridIterations(14))
	assert.Equal(t, 10048, gan.GridIterations(20000)[10])
}

var _ = nn.StateDict

func TestEvalDuringTraining(t *testing.T) {
	dir := t.TempDir()
	m, _ := gan.New(tinyCfg, rng(1))
	o := tinyOpts(dir, 4)
	held := tinyData(16, 0)
	o.Eval = &gan.Eval{Every: 2, Real: held, IWTrain: tinyData(8, 0), Metrics: []string{"fid", "kid", "iw"}, IW: metrics.IWOptions{Steps: 3, Width: 2}}
	var events []gan.EvalEvent
	o.OnEval = func(e gan.EvalEvent) { events = append(events, e) }
	res, err := gan.Train(context.Background(), m, tinyData(12, 0), o)
	require.NoError(t, err)
	require.Len(t, events, 3) // iterations 0, 2, 4
	require.Equal(t, events, res.Evals)
	for _, e := range events {
		require.Len(t, e.Results, 3)
		assert.Equal(t, "FID", e.Results[0].Metric)
		assert.Equal(t, "gantry-gray", e.Results[0].Extractor)
		assert.Equal(t, "IW", e.Results[2].Metric)
	}
	for _, f := range []string{gan.MetricFile("fid"), gan.MetricFile("kid"), gan.MetricFile("iw"), gan.BestFile} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	_, err = gan.Train(context.Background(), m, tinyData(12, 0), gan.Options{Iterations: 1, Eval: &gan.Eval{Every: 1, Real: held, Metrics: []string{"iw"}}})
	require.ErrorContains(t, err, "IWTrain")
}

// Temporary files left by a killed write are removed when the run resumes.
func TestResumeRemovesStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	m, _ := gan.New(tinyCfg, rng(1))
	o := tinyOpts(dir, 3)
	_, err := gan.Train(context.Background(), m, tinyData(12, 0), o)
	require.NoError(t, err)
	stale := filepath.Join(dir, "."+gan.CheckpointName(6)+".tmp123")
	require.NoError(t, os.WriteFile(stale, []byte("half a checkpoint"), 0o644))
	o.Iterations, o.Resume = 4, true
	_, err = gan.Train(context.Background(), nil, tinyData(12, 0), o)
	require.NoError(t, err)
	assert.NoFileExists(t, stale)
}
