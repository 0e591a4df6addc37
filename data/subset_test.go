package data

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/tensor"
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
	if !slices.Equal(a.Indices(), b.Indices()) {
		t.Errorf("same seed, different subsets")
	}
	if slices.Equal(a.Indices(), c.Indices()) {
		t.Errorf("different seeds, same subset")
	}
	if a.Len() != 30 || !slices.IsSorted(a.Indices()) || len(slices.Compact(slices.Clone(a.Indices()))) != 30 {
		t.Errorf("subset %v: want 30 distinct sorted indices", a.Indices())
	}
	for i := range a.Len() {
		j := a.Indices()[i]
		if a.Image(i).Data()[0] != float32(j) || a.Label(i) != j%10 {
			t.Fatalf("view image %d is not base image %d", i, j)
		}
	}
	if n := Subset(ds, 0, seeded(1)).Len(); n != 0 {
		t.Errorf("Subset 0: Len %d", n)
	}
	if n := Subset(ds, 100, seeded(1)).Len(); n != 100 {
		t.Errorf("Subset 100: Len %d", n)
	}
	// A subset of a subset.
	s2 := Subset(a, 5, seeded(3))
	m := Materialize(s2)
	for i := range 5 {
		if m.Image(i).Data()[1] != -float32(a.Indices()[s2.Indices()[i]]) {
			t.Errorf("nested subset image %d wrong", i)
		}
	}
}

func TestBalancedSubset(t *testing.T) {
	ds := indexed(100, 4)
	for _, n := range []int{0, 8, 10, 40, 100} {
		v, err := BalancedSubset(ds, n, seeded(7))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		count := map[int]int{}
		for i := range v.Len() {
			count[v.Label(i)]++
		}
		for l, c := range count {
			if c < n/4 || c > n/4+1 {
				t.Errorf("n=%d: class %d has %d images", n, l, c)
			}
		}
		if v.Len() != n || !slices.IsSorted(v.Indices()) {
			t.Errorf("n=%d: Len %d, sorted %v", n, v.Len(), slices.IsSorted(v.Indices()))
		}
		w, _ := BalancedSubset(ds, n, seeded(7))
		if !slices.Equal(v.Indices(), w.Indices()) {
			t.Errorf("n=%d: not reproducible", n)
		}
	}
	if _, err := BalancedSubset(ds, 101, seeded(7)); err == nil {
		t.Errorf("101 of 100: no error")
	}
	if _, err := BalancedSubset(indexed(10, 0), 2, seeded(7)); err == nil {
		t.Errorf("unlabeled: no error")
	}
}

func TestSplit(t *testing.T) {
	ds := indexed(50, 5)
	train, held := Split(ds, 12, seeded(9))
	if train.Len() != 38 || held.Len() != 12 {
		t.Fatalf("sizes %d, %d", train.Len(), held.Len())
	}
	all := append(slices.Clone(train.Indices()), held.Indices()...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("train and held-out are not a partition: %v", all)
		}
	}
	train2, held2 := Split(ds, 12, seeded(9))
	if !slices.Equal(train.Indices(), train2.Indices()) || !slices.Equal(held.Indices(), held2.Indices()) {
		t.Errorf("not reproducible")
	}
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
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "data: ") {
					t.Errorf("%s: panic %q; want a message starting with \"data: \"", name, msg)
				}
			}()
			fn()
		}()
	}
}

// zerosDataset is a zero-filled unlabeled dataset for benchmarks.
func zerosDataset(n, c, h, w int) *Memory { return FromTensor(tensor.New(n, c, h, w), nil, nil) }
