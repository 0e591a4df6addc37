package kernels

import (
	"runtime"
	"sync"
)

// Workers reports how many goroutines the kernels split work across. It is
// GOMAXPROCS at the time of the call.
func Workers() int { return runtime.GOMAXPROCS(0) }

// ParallelFor calls fn on disjoint sub-ranges [lo, hi) that cover [0, n),
// using up to Workers() goroutines, and returns once every call has returned.
// Ranges are no smaller than grain (except the last one), so tiny problems run
// on the calling goroutine alone. fn must be safe to run concurrently on
// disjoint ranges.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := Workers()
	chunks := (n + grain - 1) / grain
	if chunks < w {
		w = chunks
	}
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + w - 1) / w
	for lo := per; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, min(per, n))
	wg.Wait()
}
