package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/gantry-go/gantry/tensor"
)

// Loader draws shuffled mini-batches from a dataset, epoch after epoch.
//
// Each epoch is one pass over a fresh random permutation of the dataset drawn
// from the loader's *rand.Rand. A batch that runs past the end of an epoch is
// completed from the next one, so no image is dropped, each epoch shows every
// image exactly once, and a dataset smaller than a batch still works. The same
// dataset, batch size and seed give the same batches.
//
// Next reuses one batch tensor and one label slice: once the loader is warm,
// it allocates nothing (for datasets that implement Copier, as all of this
// package's do). A Loader is not safe for concurrent use.
type Loader struct {
	ds     Dataset
	r      *rand.Rand
	flip   bool
	perm   []int
	pos    int
	epoch  int
	x      *tensor.Tensor
	labels []int
	per    int
	w      int
	idx    []int  // this batch's images
	flips  []bool // and which of them to mirror
	fetch  int    // goroutines filling a batch
}

// LoaderOption configures a Loader.
type LoaderOption func(*Loader)

// RandomFlip mirrors each image of a batch left to right with probability
// 1/2, drawn from the loader's random source.
func RandomFlip() LoaderOption { return func(l *Loader) { l.flip = true } }

// ParallelFetch fills each batch with n goroutines, each fetching a share of
// its images. It is the default, with n = GOMAXPROCS, for datasets that do
// not implement Copier (a user's dataset that decodes files on demand);
// this package's datasets hold decoded images and are fetched by the calling
// goroutine. The batches are the same for any n.
//
// It panics if n < 1.
func ParallelFetch(n int) LoaderOption {
	if n < 1 {
		panic(fmt.Sprintf("data: ParallelFetch: %d goroutines", n))
	}
	return func(l *Loader) { l.fetch = n }
}

// MaxBatchBytes bounds the memory of one batch (its images and labels) that
// NewLoader accepts: 4 GiB, far above any batch a GAN of this package
// trains on, and below what would take a machine down.
const MaxBatchBytes = 1 << 32

// NewLoader returns a loader of batches of size batch from ds, shuffled with
// r. The batch is allocated here, once.
//
// These are programmer errors, so it panics, naming the argument, before
// allocating anything: if ds is nil or empty, if batch < 1 or a batch would
// take more than MaxBatchBytes, if r is nil, or if ds's first image is not
// [C, H, W].
func NewLoader(ds Dataset, batch int, r *rand.Rand, opts ...LoaderOption) *Loader {
	if ds == nil {
		panic("data: NewLoader: dataset ds is nil")
	}
	if batch < 1 {
		panic(fmt.Sprintf("data: NewLoader: batch size %d; want at least 1", batch))
	}
	mustRand("NewLoader", r)
	if ds.Len() == 0 {
		panic("data: NewLoader: empty dataset")
	}
	s := ImageShape(ds)
	// Four bytes a value, eight a label and eight an index, one a flip.
	if per := int64(s[0]) * int64(s[1]) * int64(s[2]); int64(batch) > MaxBatchBytes/(4*per+17) {
		panic(fmt.Sprintf("data: NewLoader: batch size %d of images %v would take over %d bytes (MaxBatchBytes); want at most %d images",
			batch, s, int64(MaxBatchBytes), MaxBatchBytes/(4*per+17)))
	}
	l := &Loader{
		ds:     ds,
		r:      r,
		perm:   make([]int, ds.Len()),
		pos:    ds.Len(), // the first Next shuffles
		epoch:  -1,
		x:      tensor.New(batch, s[0], s[1], s[2]),
		labels: make([]int, batch),
		per:    s[0] * s[1] * s[2],
		w:      s[2],
		idx:    make([]int, batch),
		flips:  make([]bool, batch),
		fetch:  1,
	}
	if _, ok := ds.(Copier); !ok {
		l.fetch = runtime.GOMAXPROCS(0)
	}
	for i := range l.perm {
		l.perm[i] = i
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Next returns the next batch: images [B, C, H, W] and their B labels (-1 for
// unlabeled images). Both are owned by the loader and overwritten by the
// following call.
//
// If the dataset panics while an image is fetched, Next panics on the
// calling goroutine with a *FetchPanic holding the original value and the
// image's index, whether or not the fetch ran on another goroutine.
func (l *Loader) Next() (*tensor.Tensor, []int) {
	// Every random choice is drawn first, in a fixed order, so the batch
	// does not depend on how many goroutines fetch it.
	for b := range l.idx {
		if l.pos == len(l.perm) {
			l.r.Shuffle(len(l.perm), func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
			l.pos = 0
			l.epoch++
		}
		l.idx[b] = l.perm[l.pos]
		l.pos++
		l.flips[b] = l.flip && l.r.IntN(2) == 1
	}
	n := min(l.fetch, len(l.idx))
	if n <= 1 {
		if p := l.fetchEvery(0, 1); p != nil {
			panic(p)
		}
		return l.x, l.labels
	}
	fails := make([]*FetchPanic, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fails[k] = l.fetchEvery(k, n)
		}()
	}
	wg.Wait()
	// Of several failures, the first image of the batch is reported, so
	// what the caller sees does not depend on the goroutines' timing.
	var first *FetchPanic
	for _, p := range fails {
		if p != nil && (first == nil || p.Batch < first.Batch) {
			first = p
		}
	}
	if first != nil {
		panic(first)
	}
	return l.x, l.labels
}

// FetchPanic is the value Loader.Next panics with when the dataset panicked
// while an image of the batch was fetched, on whichever goroutine fetched it:
// a recover in the goroutine calling Next catches it. The batch is then
// incomplete; the loader itself stays usable.
type FetchPanic struct {
	Index int    // the dataset's index of the image
	Batch int    // its place in the batch
	Value any    // what the dataset panicked with
	Stack []byte // the stack of the goroutine that panicked
}

func (p *FetchPanic) Error() string {
	return fmt.Sprintf("data: Loader.Next: the dataset panicked fetching image %d (batch position %d): %v", p.Index, p.Batch, p.Value)
}

// Unwrap returns the dataset's panic value when it is an error.
func (p *FetchPanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// fetchEvery fetches the images k, k+step, ... of the batch, and returns the
// first panic of the dataset instead of raising it.
func (l *Loader) fetchEvery(k, step int) (fail *FetchPanic) {
	b := k
	defer func() {
		if v := recover(); v != nil {
			fail = &FetchPanic{Index: l.idx[b], Batch: b, Value: v, Stack: debug.Stack()}
		}
	}()
	for ; b < len(l.idx); b += step {
		l.fetchOne(b)
	}
	return nil
}

// fetchOne copies image b of the batch into place.
func (l *Loader) fetchOne(b int) {
	i := l.idx[b]
	dst := l.x.Data()[b*l.per : (b+1)*l.per]
	copyImage(l.ds, dst, i, l.x.Shape()[1:])
	l.labels[b] = l.ds.Label(i)
	if l.flips[b] {
		flipRows(dst, l.w)
	}
}

// flipRows mirrors every row of length w in x.
func flipRows(x []float32, w int) {
	for row := 0; row < len(x); row += w {
		r := x[row : row+w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
	}
}

// Epoch returns the number of the epoch the last batch ended in, counting
// from 0 (-1 before the first batch).
func (l *Loader) Epoch() int { return l.epoch }

// BatchSize returns the number of images in a batch.
func (l *Loader) BatchSize() int { return len(l.labels) }

// LoaderState is where a Loader stands in its epochs. With the state of the
// loader's random source (rand.PCG and rand.ChaCha8 implement
// encoding.BinaryMarshaler), it resumes the sequence of batches exactly.
type LoaderState struct {
	Epoch int   `json:"epoch"` // as Epoch returns
	Pos   int   `json:"pos"`   // images of the current epoch already used
	Perm  []int `json:"perm"`  // the current epoch's order
}

// State returns a copy of the loader's position.
func (l *Loader) State() LoaderState {
	return LoaderState{Epoch: l.epoch, Pos: l.pos, Perm: slices.Clone(l.perm)}
}

// SetState moves the loader to a position taken by State from a loader of
// the same dataset. It returns an error if s does not fit the dataset.
func (l *Loader) SetState(s LoaderState) error {
	if len(s.Perm) != len(l.perm) || s.Pos < 0 || s.Pos > len(s.Perm) || s.Epoch < -1 {
		return fmt.Errorf("data: Loader.SetState: state for %d images at %d; the dataset has %d", len(s.Perm), s.Pos, len(l.perm))
	}
	seen := make([]bool, len(s.Perm))
	for _, i := range s.Perm {
		if i < 0 || i >= len(seen) || seen[i] {
			return fmt.Errorf("data: Loader.SetState: order is not a permutation of %d images", len(seen))
		}
		seen[i] = true
	}
	copy(l.perm, s.Perm)
	l.pos, l.epoch = s.Pos, s.Epoch
	return nil
}
