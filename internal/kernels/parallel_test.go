package kernels

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkCover runs ParallelFor and checks that every index is visited once and
// no range is shorter than grain except the last.
func checkCover(t *testing.T, n, grain int) {
	t.Helper()
	hits := make([]atomic.Int32, max(n, 0))
	ParallelFor(n, grain, func(lo, hi int) {
		assert.False(t, hi-lo < grain && hi != n, "ParallelFor(%d, %d): range [%d, %d) shorter than grain", n, grain, lo, hi)
		for i := lo; i < hi; i++ {
			hits[i].Add(1)
		}
	})
	for i := range hits {
		require.Equal(t, int32(1), hits[i].Load(), "ParallelFor(%d, %d): visits of index %d", n, grain, i)
	}
}

func TestParallelFor(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1001} {
		for _, grain := range []int{0, 1, 3, 64, 2000} {
			checkCover(t, n, grain)
		}
	}
}

// TestParallelForNested calls ParallelFor from inside itself and from many
// goroutines at once; run it with -race.
func TestParallelForNested(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 50; it++ {
				var sum atomic.Int64
				ParallelFor(6, 1, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						ParallelFor(10, 1, func(lo, hi int) {
							for j := lo; j < hi; j++ {
								sum.Add(int64(i*10 + j))
							}
						})
					}
				})
				if !assert.Equal(t, int64(59*60/2), sum.Load(), "nested sum") {
					return
				}
			}
		}()
	}
	wg.Wait()
}
