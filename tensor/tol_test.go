package tensor

// The tolerances of this package's tests, stated once: how far a float32
// result may be from a reference computed in another order or in float64
// (relative and absolute alike, as AllClose takes them).
const (
	tolElem = 1e-6 // one or two roundings apart: fused elementwise passes, pooling
	tolSum  = 1e-5 // sums of a few terms in another order: reductions, broadcasts
	tolConv = 1e-4 // long sums: convolutions over C·KH·KW, normalisations over N·H·W
	tolGrad = 1e-3 // weight gradients, summed over the batch as well
)
