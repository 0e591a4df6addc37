package tensor

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/internal/kernels"
)

// MatMul returns the matrix product a·b over the last two axes, with any
// leading (batch) axes broadcast: a is [..., m, k] and b is [..., k, n].
//
// It panics if either has fewer than two axes, the inner sizes differ, or
// the batch axes do not broadcast.
func MatMul(a, b *Tensor) *Tensor { return MatMulT(a, b, false, false) }

// MatMulT is MatMul with either operand's last two axes transposed first:
// op(a)·op(b), where op(x) is x or its transpose as transA and transB say.
// The transposes are never materialised.
//
// It panics as MatMul does.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	if len(a.shape) < 2 || len(b.shape) < 2 {
		panic(fmt.Sprintf("tensor: MatMul: shapes %v and %v need at least two axes", a.shape, b.shape))
	}
	ra, rb := len(a.shape), len(b.shape)
	m, k := a.shape[ra-2], a.shape[ra-1]
	if transA {
		m, k = k, m
	}
	k2, n := b.shape[rb-2], b.shape[rb-1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		panic(fmt.Sprintf("tensor: MatMul: inner sizes differ: %v (trans %v) and %v (trans %v)", a.shape, transA, b.shape, transB))
	}
	batch := broadcastShapes("MatMul", a.shape[:ra-2], b.shape[:rb-2])
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	out := New(append(slices.Clone(batch), m, n)...)
	if m == 0 || n == 0 {
		return out
	}
	sa := a.shape[ra-2] * a.shape[ra-1]
	sb := b.shape[rb-2] * b.shape[rb-1]
	// Batch offsets of each operand: broadcast batch axes repeat a matrix.
	aoff := batchOffsets(a.shape[:ra-2], batch, sa)
	boff := batchOffsets(b.shape[:rb-2], batch, sb)
	lda, ldb := a.shape[ra-1], b.shape[rb-1]
	if k == 0 {
		return out
	}
	for i := 0; i < nb; i++ {
		kernels.Sgemm(transA, transB, m, n, k, 1, a.data[aoff[i]:aoff[i]+sa], lda,
			b.data[boff[i]:boff[i]+sb], ldb, 0, out.data[i*m*n:(i+1)*m*n], n)
	}
	return out
}

// batchOffsets lists, for each index of the broadcast batch shape, the
// storage offset of the matching matrix in a tensor whose batch shape is s.
func batchOffsets(s, batch []int, size int) []int {
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	offs := make([]int, nb)
	if nb == 0 {
		return offs
	}
	st := bcastStrides(s, batch)
	idx := make([]int, len(batch))
	off := 0
	for i := range offs {
		offs[i] = off * size
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			off += st[d]
			if idx[d] < batch[d] {
				break
			}
			off -= st[d] * batch[d]
			idx[d] = 0
		}
	}
	return offs
}
