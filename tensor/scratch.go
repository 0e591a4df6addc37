package tensor

import (
	"math/bits"
	"sync"
)

// Scratch buffers for kernels (im2col matrices, gathered gradients), pooled
// by power-of-two size class so a training step reuses them instead of
// allocating and zeroing fresh memory for every convolution. Their contents
// are garbage on Get: callers overwrite every element they read.
var scratchPools [64]sync.Pool

func getScratch(n int) *[]float32 {
	c := bits.Len(uint(max(n-1, 0)))
	if p, ok := scratchPools[c].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n, 1<<c)
	return &b
}

func putScratch(p *[]float32) {
	if p == nil {
		return
	}
	scratchPools[bits.Len(uint(cap(*p)-1))].Put(p)
}
