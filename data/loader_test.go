package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batches returns the first-column values of k batches of size b.
func batches(ds Dataset, b, k int, seed uint64, opts ...LoaderOption) [][]float32 {
	l := NewLoader(ds, b, seeded(seed), opts...)
	var out [][]float32
	for range k {
		x, labels := l.Next()
		per := len(x.Data()) / b
		row := make([]float32, 0, b)
		for i := range b {
			row = append(row, x.Data()[i*per])
			if labels[i] != int(x.Data()[i*per])%3 {
				panic("label does not follow its image")
			}
		}
		out = append(out, row)
	}
	return out
}

func TestLoaderDeterminism(t *testing.T) {
	ds := indexed(20, 3)
	a := batches(ds, 6, 10, 1)
	b := batches(ds, 6, 10, 1)
	c := batches(ds, 6, 10, 2)
	assert.Equal(t, a, b, "same seed gave different batches")
	assert.NotEqual(t, a, c, "different seeds gave the same batches")
}

// TestLoaderEpochs: 10 batches of 6 from 20 images are 3 whole epochs, each
// a permutation, and the epochs differ.
func TestLoaderEpochs(t *testing.T) {
	ds := indexed(20, 3)
	l := NewLoader(ds, 6, seeded(4))
	require.Equal(t, -1, l.Epoch(), "Epoch before the first batch")
	require.Equal(t, 6, l.BatchSize())
	var seen []int
	for range 10 {
		x, _ := l.Next()
		for i := range 6 {
			seen = append(seen, int(x.Data()[2*i]))
		}
	}
	assert.Equal(t, 2, l.Epoch(), "Epoch after 60 images of 20")
	var epochs [][]int
	for e := range 3 {
		ep := slices.Clone(seen[20*e : 20*(e+1)])
		epochs = append(epochs, slices.Clone(ep))
		slices.Sort(ep)
		require.Equal(t, upTo(20), ep, "epoch %d is not a permutation: %v", e, seen[20*e:20*(e+1)])
	}
	assert.NotEqual(t, epochs[0], epochs[1], "two epochs in the same order")
}

// upTo returns 0, 1, …, n-1.
func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestLoaderSmallDataset(t *testing.T) {
	ds := indexed(3, 3)
	l := NewLoader(ds, 7, seeded(1))
	x, labels := l.Next()
	assert.Equal(t, []int{7, 1, 1, 2}, x.Shape())
	assert.Len(t, labels, 7)
}

func TestLoaderFlip(t *testing.T) {
	ds := indexed(50, 3)
	l := NewLoader(ds, 50, seeded(1), RandomFlip())
	x, _ := l.Next()
	flipped := 0
	for i := range 50 {
		a, b := x.Data()[2*i], x.Data()[2*i+1]
		require.Equal(t, -b, a, "image %d = [%v %v]; want a mirror of [v, -v]", i, a, b)
		if a < 0 {
			flipped++
		}
	}
	assert.GreaterOrEqual(t, flipped, 10, "flipped of 50")
	assert.LessOrEqual(t, flipped, 40, "flipped of 50")
}

func TestLoaderAllocs(t *testing.T) {
	views := map[string]Dataset{"memory": indexed(64, 3), "view": Subset(indexed(64, 3), 40, seeded(2))}
	for name, ds := range views {
		l := NewLoader(ds, 16, seeded(3), RandomFlip())
		l.Next()
		assert.Zero(t, testing.AllocsPerRun(50, func() { l.Next() }), "%s: allocations per batch", name)
	}
}

func BenchmarkLoader(b *testing.B) {
	for _, tc := range []struct {
		name string
		ds   Dataset
	}{
		{"memory/B16/3x32x32", zerosDataset(1000, 3, 32, 32)},
		{"view/B16/3x32x32", Subset(zerosDataset(1000, 3, 32, 32), 500, seeded(1))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := NewLoader(tc.ds, 16, rand.New(rand.NewPCG(1, 2)))
			b.ReportAllocs()
			for b.Loop() {
				l.Next()
			}
		})
	}
}

// TestLoaderResume: saving the loader's state and its random source's state
// and restoring both into a new loader continues the same batches.
func TestLoaderResume(t *testing.T) {
	ds := indexed(13, 3)
	src := rand.NewPCG(8, 9)
	l := NewLoader(ds, 5, rand.New(src), RandomFlip())
	for range 4 {
		l.Next()
	}
	st := l.State()
	rng, err := src.MarshalBinary()
	require.NoError(t, err)
	var want [][]float32
	for range 5 {
		x, _ := l.Next()
		want = append(want, slices.Clone(x.Data()))
	}

	src2 := rand.NewPCG(0, 0)
	require.NoError(t, src2.UnmarshalBinary(rng))
	l2 := NewLoader(ds, 5, rand.New(src2), RandomFlip())
	require.NoError(t, l2.SetState(st))
	for i := range 5 {
		x, _ := l2.Next()
		require.Equal(t, want[i], x.Data(), "batch %d after resuming", i)
	}
	assert.Equal(t, l.Epoch(), l2.Epoch(), "epoch")
	bad := st
	bad.Perm = append(slices.Clone(st.Perm[:12]), st.Perm[0])
	assert.Error(t, l2.SetState(bad), "SetState accepted a non-permutation")
	assert.Error(t, NewLoader(indexed(4, 3), 2, seeded(1)).SetState(st), "SetState accepted a state of another dataset size")
}

// lazy is a dataset that builds each image on demand, as a user's dataset
// decoding files would; it does not implement Copier.
type lazy struct{ n int }

func (d lazy) Len() int        { return d.n }
func (d lazy) Label(i int) int { return i % 3 }
func (d lazy) Image(i int) *tensor.Tensor {
	t := tensor.New(1, 2, 3)
	for k := range t.Data() {
		t.Data()[k] = float32(i*10+k) / 1000
	}
	return t
}

func TestLoaderParallelFetchSameBatches(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var batches [2][][]float32
	for run, opts := range [][]LoaderOption{{ParallelFetch(1), RandomFlip()}, {RandomFlip()}} {
		l := NewLoader(lazy{n: 23}, 5, rand.New(rand.NewPCG(4, 4)), opts...)
		for range 12 {
			x, labels := l.Next()
			batches[run] = append(batches[run], append(slices.Clone(x.Data()), float32(labels[0])))
		}
	}
	require.Equal(t, batches[0], batches[1], "batches of one and %d fetching goroutines", runtime.GOMAXPROCS(0))
}

// flat is a dataset whose images are [H, W], missing the channel axis.
type flat struct{}

func (flat) Len() int                 { return 4 }
func (flat) Label(int) int            { return -1 }
func (flat) Image(int) *tensor.Tensor { return tensor.New(28, 28) }

// ragged is a dataset whose image 2 has another shape than the others.
type ragged struct{}

func (ragged) Len() int      { return 4 }
func (ragged) Label(int) int { return -1 }
func (ragged) Image(i int) *tensor.Tensor {
	if i == 2 {
		return tensor.New(1, 2, 3)
	}
	return tensor.New(1, 3, 2)
}

func TestNewLoaderMisuse(t *testing.T) {
	cases := []struct {
		name, want string
		fn         func()
	}{
		{"huge batch", "data: NewLoader: batch size 1099511627776 of images [1 1 2] would take over 4294967296 bytes (MaxBatchBytes)", func() {
			NewLoader(indexed(5, 0), 1<<40, seeded(1))
		}},
		{"zero batch", "data: NewLoader: batch size 0; want at least 1", func() { NewLoader(indexed(5, 0), 0, seeded(1)) }},
		{"nil rand", "data: NewLoader: random source r is nil", func() { NewLoader(indexed(5, 0), 2, nil) }},
		{"nil dataset", "data: NewLoader: dataset ds is nil", func() { NewLoader(nil, 2, seeded(1)) }},
		{"2-D images", "data: ImageShape: the dataset's image 0 has shape [28 28]; want [C, H, W]", func() { NewLoader(flat{}, 2, seeded(1)) }},
		{"ragged images", "data: the dataset's image 2 has shape [1 2 3]; want [1 3 2] as image 0", func() {
			l := NewLoader(ragged{}, 4, seeded(1), ParallelFetch(1))
			l.Next()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if p, ok := r.(*FetchPanic); ok {
					r = p.Value
				}
				assert.Contains(t, fmt.Sprint(r), c.want, "the panic")
			}()
			c.fn()
		})
	}
}

// faulty panics with its value when asked for image bad.
type faulty struct {
	lazy
	bad int
	val any
}

func (d faulty) Image(i int) *tensor.Tensor {
	if i == d.bad {
		panic(d.val)
	}
	return d.lazy.Image(i)
}

// TestLoaderDatasetPanic: a dataset's panic, on whichever goroutine fetched
// the image, reaches the caller's recover with the original value and the
// image's index, and the loader goes on afterwards.
func TestLoaderDatasetPanic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	errBad := errors.New("corrupt file 7.png")
	for _, c := range []struct {
		name  string
		fetch int
		val   any
	}{
		{"caller", 1, "boom"},
		{"workers", 4, "boom"},
		{"workers error", 3, errBad},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds := faulty{lazy: lazy{n: 10}, bad: 7, val: c.val}
			l := NewLoader(ds, 10, seeded(3), ParallelFetch(c.fetch))
			p := func() (p *FetchPanic) {
				defer func() { p, _ = recover().(*FetchPanic) }()
				l.Next()
				return nil
			}()
			require.NotNil(t, p, "Next did not panic with a *FetchPanic")
			assert.Equal(t, 7, p.Index, "FetchPanic.Index")
			assert.Equal(t, c.val, p.Value, "FetchPanic.Value")
			assert.Equal(t, 7, l.idx[p.Batch], "the image at FetchPanic.Batch")
			if err, ok := c.val.(error); ok {
				assert.ErrorIs(t, p, err)
			}
			assert.ErrorContains(t, p, "fetching image 7")
			assert.NotEmpty(t, p.Stack, "FetchPanic.Stack")
			ds.bad = -1
			l.ds = ds
			l.Next() // the loader is still usable
		})
	}
}
