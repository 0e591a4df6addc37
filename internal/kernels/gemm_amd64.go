//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run asmgen/main.go -out gemm_amd64.s

// The microkernels of gemm_amd64.s. Each computes one whole tile
// C = alpha*Ap*Bp + beta*C (see gemmKernel.tile) and reads C only when beta
// is nonzero.

//go:noescape
func tileAVX512x14x32(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x12x32(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x8x48(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x6x64(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX2x6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// The same kernels for A packed by rows of aRowStride floats.

//go:noescape
func tileAVX512x14x32R(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x12x32R(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x8x48R(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x6x64R(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX2x6x16R(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func copyMaskedAVX512(dst *float32, lddst int, src *float32, ldsrc int, rows int, lmask, smask uint16)

//go:noescape
func transpose16AVX512(dst *float32, lddst int, src *float32, ldsrc int)

// aRowStride is the row stride, in floats, of A panels packed by rows; it
// must match asmgen and be at least every kernel's kc.
const aRowStride = 256 + 16

// asmTile wraps an assembly microkernel, checking once per tile that the
// slices hold what it will touch.
func asmTile(mr, nr, ars int, fn func(kc int, a, b, c *float32, ldc int, alpha, beta float32)) func(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	return func(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
		if ars > 0 {
			_ = a[(mr-1)*ars+kc-1]
		} else {
			_ = a[mr*kc-1]
		}
		_ = b[nr*kc-1]
		_ = c[(mr-1)*ldc+nr-1]
		fn(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
	}
}

var (
	kernelAVX512x14x32 = &gemmKernel{name: "avx512x14x32", mr: 14, nr: 32, mc: 14 * 24, kc: 256, nc: 4096, tile: asmTile(14, 32, 0, tileAVX512x14x32), tileRows: asmTile(14, 32, aRowStride, tileAVX512x14x32R), ars: aRowStride}
	kernelAVX512x12x32 = &gemmKernel{name: "avx512x12x32", mr: 12, nr: 32, mc: 12 * 28, kc: 256, nc: 4096, tile: asmTile(12, 32, 0, tileAVX512x12x32), tileRows: asmTile(12, 32, aRowStride, tileAVX512x12x32R), ars: aRowStride}
	kernelAVX512x8x48  = &gemmKernel{name: "avx512x8x48", mr: 8, nr: 48, mc: 8 * 40, kc: 256, nc: 4096, tile: asmTile(8, 48, 0, tileAVX512x8x48), tileRows: asmTile(8, 48, aRowStride, tileAVX512x8x48R), ars: aRowStride}
	kernelAVX512x6x64  = &gemmKernel{name: "avx512x6x64", mr: 6, nr: 64, mc: 6 * 56, kc: 256, nc: 4096, tile: asmTile(6, 64, 0, tileAVX512x6x64), tileRows: asmTile(6, 64, aRowStride, tileAVX512x6x64R), ars: aRowStride}
	kernelAVX2x6x16    = &gemmKernel{name: "avx2x6x16", mr: 6, nr: 16, mc: 6 * 48, kc: 256, nc: 4096, tile: asmTile(6, 16, 0, tileAVX2x6x16), tileRows: asmTile(6, 16, aRowStride, tileAVX2x6x16R), ars: aRowStride}
)

func init() {
	for _, k := range []*gemmKernel{kernelAVX512x14x32, kernelAVX512x12x32, kernelAVX512x8x48, kernelAVX512x6x64} {
		k.copyMasked, k.transpose16 = copyMaskedAVX512, transpose16AVX512
	}
}

// gemmKernels lists the microkernels usable on this machine, fastest first.
func gemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, kernelAVX512x14x32, kernelAVX512x12x32, kernelAVX512x8x48, kernelAVX512x6x64)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, kernelAVX2x6x16)
	}
	return append(ks, kernelGo)
}
