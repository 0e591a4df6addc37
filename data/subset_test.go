package data

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gantry-go/gantry/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indexed returns an n-image dataset whose image i is 1x1x2 holding i and -i
// and whose label is i%k (or -1 when k is 0).
func indexed(n, k int) *Memory {
	buf := make([]float32, 2*n)
	labels := make([]int, n)
	for i := range n {
		buf[2*i], buf[2*i+1] = float32(i), -float32(i)
		labels[i] = -1
		if k > 0 {
			labels[i] = i % k
		}
	}
	return FromTensor(tensor.FromSlice(buf, n, 1, 1, 2), labels, nil)
}

func seeded(s uint64) *rand.Rand { return rand.New(rand.NewPCG(s, 0x5eed)) }

func TestSubset(t *testing.T) {
	ds := indexed(100, 10)
	a := Subset(ds, 30, seeded(1))
	b := Subset(ds, 30, seeded(1))
	c := Subset(ds, 30, seeded(2))
	assert.Equal(t, a.Indices(), b.Indices(), "same seed, different subsets")
	assert.NotEqual(t, a.Indices(), c.Indices(), "different seeds, same subset")
	assert.Equal(t, 30, a.Len())
	assert.True(t, slices.IsSorted(a.Indices()), "subset %v: want sorted indices", a.Indices())
	assert.Len(t, slices.Compact(slices.Clone(a.Indices())), 30, "subset %v: want distinct indices", a.Indices())
	for i := range a.Len() {
		j := a.Indices()[i]
		require.Equal(t, float32(j), a.Image(i).Data()[0], "view image %d is not base image %d", i, j)
		require.Equal(t, j%10, a.Label(i), "view label %d is not base label %d", i, j)
	}
	assert.Zero(t, Subset(ds, 0, seeded(1)).Len(), "Subset 0: Len")
	assert.Equal(t, 100, Subset(ds, 100, seeded(1)).Len(), "Subset 100: Len")
	// A subset of a subset.
	s2 := Subset(a, 5, seeded(3))
	m := Materialize(s2)
	for i := range 5 {
		assert.Equal(t, -float32(a.Indices()[s2.Indices()[i]]), m.Image(i).Data()[1], "nested subset image %d", i)
	}
}

func TestBalancedSubset(t *testing.T) {
	ds := indexed(100, 4)
	for _, n := range []int{0, 8, 10, 40, 100} {
		v, err := BalancedSubset(ds, n, seeded(7))
		require.NoError(t, err, "n=%d", n)
		count := map[int]int{}
		for i := range v.Len() {
			count[v.Label(i)]++
		}
		for l, c := range count {
			assert.GreaterOrEqual(t, c, n/4, "n=%d: images of class %d", n, l)
			assert.LessOrEqual(t, c, n/4+1, "n=%d: images of class %d", n, l)
		}
		assert.Equal(t, n, v.Len(), "n=%d: Len", n)
		assert.True(t, slices.IsSorted(v.Indices()), "n=%d: indices sorted", n)
		w, err := BalancedSubset(ds, n, seeded(7))
		require.NoError(t, err)
		assert.Equal(t, v.Indices(), w.Indices(), "n=%d: not reproducible", n)
	}
	_, err := BalancedSubset(ds, 101, seeded(7))
	assert.Error(t, err, "101 of 100")
	_, err = BalancedSubset(indexed(10, 0), 2, seeded(7))
	assert.Error(t, err, "unlabeled")
}

func TestSplit(t *testing.T) {
	ds := indexed(50, 5)
	train, held := Split(ds, 12, seeded(9))
	require.Equal(t, 38, train.Len(), "train size")
	require.Equal(t, 12, held.Len(), "held-out size")
	all := append(slices.Clone(train.Indices()), held.Indices()...)
	slices.Sort(all)
	require.Equal(t, upTo(50), all, "train and held-out are not a partition")
	train2, held2 := Split(ds, 12, seeded(9))
	assert.Equal(t, train.Indices(), train2.Indices(), "train not reproducible")
	assert.Equal(t, held.Indices(), held2.Indices(), "held-out not reproducible")
}

func TestPanics(t *testing.T) {
	ds := indexed(5, 0)
	for name, fn := range map[string]func(){
		"Subset too many":   func() { Subset(ds, 6, seeded(1)) },
		"Subset negative":   func() { Subset(ds, -1, seeded(1)) },
		"Subset nil rand":   func() { Subset(ds, 2, nil) },
		"Balanced nil rand": func() { BalancedSubset(ds, 2, nil) },
		"Split nil rand":    func() { Split(ds, 2, nil) },
		"FromTensor nil":    func() { FromTensor(nil, nil, nil) },
		"Split too many":    func() { Split(ds, 6, seeded(1)) },
		"Image range":       func() { ds.Image(5) },
		"Label range":       func() { ds.Label(-1) },
		"View range":        func() { NewView(ds, []int{0}).Image(1) },
		"NewView range":     func() { NewView(ds, []int{5}) },
		"FromTensor rank":   func() { FromTensor(tensor.New(2, 3), nil, nil) },
		"FromTensor labels": func() { FromTensor(tensor.New(2, 1, 1, 1), []int{0}, nil) },
		"FromTensor class":  func() { FromTensor(tensor.New(1, 1, 1, 1), []int{2}, []string{"a", "b"}) },
		"Loader batch":      func() { NewLoader(ds, 0, seeded(1)) },
		"Loader empty":      func() { NewLoader(indexed(0, 0), 1, seeded(1)) },
		"Resolution":        func() { Resolution(0) },
		"Filter":            func() { Filter(Kernel(99)) },
		"CopyImage":         func() { ds.CopyImage(make([]float32, 3), 0) },
	} {
		func() {
			defer func() {
				// A message of this package, not a runtime error.
				msg, _ := recover().(string)
				assert.Regexp(t, `^data: `, msg, "%s: the panic", name)
			}()
			fn()
		}()
	}
}

// zerosDataset is a zero-filled unlabeled dataset for benchmarks.
func zerosDataset(n, c, h, w int) *Memory { return FromTensor(tensor.New(n, c, h, w), nil, nil) }
