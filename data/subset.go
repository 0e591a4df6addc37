package data

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// View is a dataset made of some images of another, by index, without
// copying them. Subset, BalancedSubset and Split return views.
type View struct {
	ds  Dataset
	idx []int
}

// NewView returns the view of ds holding, in order, the images at indices idx
// (which it keeps; repeats are allowed).
//
// It panics if an index is out of range.
func NewView(ds Dataset, idx []int) *View {
	n := ds.Len()
	for _, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("data: NewView: index %d out of range [0, %d)", i, n))
		}
	}
	return &View{ds: ds, idx: idx}
}

// Len returns the number of images in the view.
func (v *View) Len() int { return len(v.idx) }

// Image returns image i of the view.
//
// It panics if i is out of range.
func (v *View) Image(i int) *tensor.Tensor { return v.ds.Image(v.at("Image", i)) }

// Label returns the label of image i of the view.
//
// It panics if i is out of range.
func (v *View) Label(i int) int { return v.ds.Label(v.at("Label", i)) }

// CopyImage copies image i of the view into dst.
//
// It panics if i is out of range or dst has the wrong length.
func (v *View) CopyImage(dst []float32, i int) { copyImage(v.ds, dst, v.at("CopyImage", i), nil) }

// Classes returns the class names of the underlying dataset.
func (v *View) Classes() []string { return Classes(v.ds) }

// Indices returns the indices of the view's images in the underlying dataset.
// The caller must not modify them.
func (v *View) Indices() []int { return v.idx }

// Base returns the underlying dataset.
func (v *View) Base() Dataset { return v.ds }

func (v *View) at(op string, i int) int {
	if i < 0 || i >= len(v.idx) {
		panic(fmt.Sprintf("data: View.%s: index %d out of range [0, %d)", op, i, len(v.idx)))
	}
	return v.idx[i]
}

// mustRand panics, naming op, if r is nil.
func mustRand(op string, r *rand.Rand) {
	if r == nil {
		panic(fmt.Sprintf("data: %s: random source r is nil; want a seeded *rand.Rand, such as rand.New(rand.NewPCG(seed, 0))", op))
	}
}

// Subset returns n images of ds drawn at random without replacement with r,
// in increasing index order.
//
// It panics if n < 0 or n > ds.Len(), or r is nil.
func Subset(ds Dataset, n int, r *rand.Rand) *View {
	mustRand("Subset", r)
	if n < 0 || n > ds.Len() {
		panic(fmt.Sprintf("data: Subset: %d images from a dataset of %d", n, ds.Len()))
	}
	idx := r.Perm(ds.Len())[:n]
	slices.Sort(idx)
	return &View{ds: ds, idx: idx}
}

// BalancedSubset returns n images of ds drawn at random with r so that every
// class has n/k of them (k classes; the n%k left over go to classes chosen at
// random, one each), in increasing index order. The classes are the distinct
// labels present in ds; unlabeled images are never chosen.
//
// It returns an error if ds has no labeled image or a class has too few
// images. It panics if n < 0 or r is nil.
func BalancedSubset(ds Dataset, n int, r *rand.Rand) (*View, error) {
	mustRand("BalancedSubset", r)
	if n < 0 {
		panic(fmt.Sprintf("data: BalancedSubset: %d images", n))
	}
	byClass := groupByLabel(ds)
	if len(byClass) == 0 {
		return nil, fmt.Errorf("data: BalancedSubset: the dataset has no labeled image")
	}
	labels := make([]int, 0, len(byClass))
	for l := range byClass {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	k := len(labels)
	want := make([]int, k)
	for i := range want {
		want[i] = n / k
	}
	for _, i := range r.Perm(k)[:n%k] {
		want[i]++
	}
	var idx []int
	for i, l := range labels {
		members := byClass[l]
		if len(members) < want[i] {
			return nil, fmt.Errorf("data: BalancedSubset: class %d has %d images; %d wanted", l, len(members), want[i])
		}
		for _, j := range r.Perm(len(members))[:want[i]] {
			idx = append(idx, members[j])
		}
	}
	slices.Sort(idx)
	return &View{ds: ds, idx: idx}, nil
}

func groupByLabel(ds Dataset) map[int][]int {
	byClass := map[int][]int{}
	for i := range ds.Len() {
		if l := ds.Label(i); l >= 0 {
			byClass[l] = append(byClass[l], i)
		}
	}
	return byClass
}

// Split divides ds at random with r into two disjoint views: train, with the
// rest, and heldOut, with n images. Each is in increasing index order. The
// held-out part is for evaluation (the IW critic, metrics) on images the GAN
// never trained on.
//
// It panics if n < 0 or n > ds.Len(), or r is nil.
func Split(ds Dataset, n int, r *rand.Rand) (train, heldOut *View) {
	mustRand("Split", r)
	if n < 0 || n > ds.Len() {
		panic(fmt.Sprintf("data: Split: %d held-out images from a dataset of %d", n, ds.Len()))
	}
	p := r.Perm(ds.Len())
	held, rest := p[:n], p[n:]
	slices.Sort(held)
	slices.Sort(rest)
	return &View{ds: ds, idx: rest}, &View{ds: ds, idx: held}
}
