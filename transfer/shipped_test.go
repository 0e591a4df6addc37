package transfer_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/tensor"
	"github.com/gantry-go/gantry/transfer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fine-tuning the shipped MNIST source on 1,000 Fashion-MNIST images beats
// training the same network from scratch with the same budget: lower FID on
// the held-out Fashion-MNIST part. (The paper's central claim, in little.)
//
// It takes about a minute on two quiet cores with the assembly kernels, many
// more with the plain-Go ones (-tags noasm, GANTRY_CPU_CAPABILITY=generic),
// where it is skipped, as with -short.
func TestPretrainedBeatsScratchOnShippedData(t *testing.T) {
	if testing.Short() || tensor.Kernels() == "generic" {
		t.Skipf("two fine-tunings of 20 iterations; skipped with -short and on the %s kernels", tensor.Kernels())
	}
	src, err := sources.MNIST()
	if errors.Is(err, sources.ErrNotShipped) {
		t.Skip("the MNIST source is not shipped in this version")
	}
	require.NoError(t, err)
	clothes, err := shipped.FashionMNIST(data.Resolution(32))
	require.NoError(t, err)
	target, err := data.BalancedSubset(clothes, 1000, rand.New(rand.NewPCG(1, 0)))
	require.NoError(t, err)
	held, err := shipped.FashionMNISTEval(data.Resolution(32))
	require.NoError(t, err)
	fid := func(init transfer.Init) float64 {
		res, err := transfer.FineTune(context.Background(), src, target, transfer.Options{
			Init: init, Iterations: 20, LR: 1e-4, Seed: 1,
			Eval: &gan.Eval{Every: 20, Real: held, Samples: 500, Metrics: []string{"fid"}},
		})
		require.NoError(t, err)
		final := res.Report.Final()
		require.Len(t, final, 1)
		t.Logf("%s: %s", init, final[0])
		return final[0].Value
	}
	assert.Less(t, fid(transfer.InitBoth), fid(transfer.InitScratch))
}
