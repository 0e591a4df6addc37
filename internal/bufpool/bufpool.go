package bufpool

import (
	"math"
	"sync"
	"sync/atomic"
)

// MinLen is the shortest buffer the pool keeps: below it, allocating is as
// cheap as looking a buffer up.
const MinLen = 4096

var (
	pools  sync.Map // int (length) -> *sync.Pool of *[]float32
	poison atomic.Bool

	hits, misses, puts atomic.Int64
)

func poolFor(n int) *sync.Pool {
	if p, ok := pools.Load(n); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(n, new(sync.Pool))
	return p.(*sync.Pool)
}

// Get returns a buffer of length n whose contents are arbitrary: the caller
// must write every element before reading any.
func Get(n int) []float32 {
	b, _ := Take(n)
	return b
}

// Take is Get that also reports whether the buffer is new, and therefore
// zero-filled: a caller that needs zeros clears only a reused one (in
// parallel, as tensor.New does).
func Take(n int) (b []float32, fresh bool) {
	if n < MinLen {
		return make([]float32, n), true
	}
	if b, ok := poolFor(n).Get().(*[]float32); ok {
		hits.Add(1)
		return *b, false
	}
	misses.Add(1)
	return make([]float32, n), true
}

// Put gives b back for reuse. The caller must be the only holder of b's
// memory: no slice, tensor or view of it may be used afterwards. Buffers
// shorter than MinLen, and a b whose capacity differs from its length, are
// left to the garbage collector.
func Put(b []float32) {
	if len(b) < MinLen || cap(b) != len(b) {
		return
	}
	puts.Add(1)
	if poison.Load() {
		nan := float32(math.NaN())
		for i := range b {
			b[i] = nan
		}
		return
	}
	poolFor(len(b)).Put(&b)
}

// SetPoison turns poison mode on or off and returns the previous setting.
// In poison mode Put fills each buffer with NaN and keeps none of them, so a
// use after release shows up as NaN. It is for tests.
func SetPoison(on bool) (was bool) { return poison.Swap(on) }

// Stats is how the pool has been used since the process started.
type Stats struct {
	Hits   int64 // Get or Take calls served from the pool
	Misses int64 // calls of at least MinLen elements that allocated
	Puts   int64 // buffers given back
}

// ReadStats returns the counts so far.
func ReadStats() Stats { return Stats{Hits: hits.Load(), Misses: misses.Load(), Puts: puts.Load()} }
