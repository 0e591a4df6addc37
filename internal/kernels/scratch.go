package kernels

import (
	"math/bits"
	"sync"
)

// Scratch buffers (im2col matrices, padded and blocked images, gradient
// accumulators), pooled by power-of-two size class so a training step reuses
// them instead of allocating, zeroing and faulting in fresh memory for every
// convolution. Their contents are garbage on GetScratch: callers overwrite
// (or clear) every element they read.
//
// A sync.Pool alone loses its buffers at every garbage collection, which a
// training step triggers several times a second; the buffers are then
// allocated, zeroed and faulted in again (in a WGAN-GP step of the paper's
// ResNet that cost 8% of the time, and the page faults of a fresh
// accumulator made the weight gradient of small layers slower on two cores
// than on one). So each class keeps a few buffers in a free list that the
// collector does not empty, with the pool behind it.
var (
	scratchPools [64]sync.Pool
	scratchFree  [64]chan *[]float32
)

// scratchKeep is how many buffers of each class the free lists hold.
const scratchKeep = 4

func init() {
	for i := range scratchFree {
		scratchFree[i] = make(chan *[]float32, scratchKeep)
	}
}

// GetScratch returns a buffer of n floats with arbitrary contents, to be
// given back with PutScratch.
func GetScratch(n int) *[]float32 {
	c := bits.Len(uint(max(n-1, 0)))
	select {
	case p := <-scratchFree[c]:
		*p = (*p)[:n]
		return p
	default:
	}
	if p, ok := scratchPools[c].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n, 1<<c)
	return &b
}

// PutScratch gives back a buffer from GetScratch (nil is ignored). The
// caller must not use it afterwards.
func PutScratch(p *[]float32) {
	if p == nil {
		return
	}
	c := bits.Len(uint(cap(*p) - 1))
	select {
	case scratchFree[c] <- p:
	default:
		scratchPools[c].Put(p)
	}
}
