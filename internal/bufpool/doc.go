// Package bufpool keeps float32 buffers that are known to be dead for reuse
// by later tensors of the same length.
//
// A training step allocates the same sizes over and over: every activation
// of the forward pass and every gradient of the backward pass. Without reuse
// each of those is a fresh slice the Go runtime must zero, serially, before
// the operation overwrites it. The tensor package takes its outputs from Get
// (for outputs it overwrites completely) and Take (for the rest, clearing a
// reused buffer in parallel), and
// autograd's backward pass gives back, with Put, the gradient buffers it
// alone holds once the last rule that reads them has run.
//
// The pool is a set of sync.Pools keyed by length, so it never holds memory
// across more than two garbage collections. Buffers shorter than MinLen are
// not pooled.
//
// Poison mode (SetPoison) is for tests: Put then fills the buffer with NaN and
// keeps nothing, so a buffer read after it was released turns results into
// NaN instead of silently into another tensor's values.
package bufpool
