package kernels

// kernelGo is the plain-Go microkernel: a 4×4 tile in sixteen scalar
// accumulators, which the compiler keeps in registers. It is the -tags noasm
// path and the fallback for CPUs without AVX2+FMA.
var kernelGo = &gemmKernel{
	name: "go4x4", isa: "go", speed: 1,
	mr: 4, nr: 4,
	mc: 128, kc: 256, nc: 2048,
	tile: tileGo4x4,
}

func tileGo4x4(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:4*kc]
	b = b[:4*kc]
	for len(a) >= 4 && len(b) >= 4 {
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a0 := a[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := a[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := a[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a, b = a[4:], b[4:]
	}
	storeRow4(c[:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(c[ldc:ldc+4], alpha, beta, c10, c11, c12, c13)
	storeRow4(c[2*ldc:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	storeRow4(c[3*ldc:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

func storeRow4(c []float32, alpha, beta, v0, v1, v2, v3 float32) {
	c = c[:4]
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	c[0] = alpha*v0 + beta*c[0]
	c[1] = alpha*v1 + beta*c[1]
	c[2] = alpha*v2 + beta*c[2]
	c[3] = alpha*v3 + beta*c[3]
}
