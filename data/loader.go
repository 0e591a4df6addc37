package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
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

// NewLoader returns a loader of batches of size batch from ds, shuffled with
// r.
//
// It panics if batch < 1 or ds is empty.
func NewLoader(ds Dataset, batch int, r *rand.Rand, opts ...LoaderOption) *Loader {
	if batch < 1 {
		panic(fmt.Sprintf("data: NewLoader: batch size %d", batch))
	}
	if ds.Len() == 0 {
		panic("data: NewLoader: empty dataset")
	}
	s := ImageShape(ds)
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
	if n := min(l.fetch, len(l.idx)); n > 1 {
		var wg sync.WaitGroup
		for k := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := k; b < len(l.idx); b += n {
					l.fetchOne(b)
				}
			}()
		}
		wg.Wait()
	} else {
		for b := range l.idx {
			l.fetchOne(b)
		}
	}
	return l.x, l.labels
}

// fetchOne copies image b of the batch into place.
func (l *Loader) fetchOne(b int) {
	i := l.idx[b]
	dst := l.x.Data()[b*l.per : (b+1)*l.per]
	copyImage(l.ds, dst, i)
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
