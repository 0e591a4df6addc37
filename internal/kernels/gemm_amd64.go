//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run ../cmd/asmgen -out gemm_amd64.s -goout dconv_amd64.go

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

// The tileRows kernels reading B in place, with its leading dimension.

//go:noescape
func tileAVX512x14x32RB(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x12x32RB(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x8x48RB(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x6x64RB(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX2x6x16RB(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func transpose8AVX2(dst *float32, lddst int, src *float32, ldsrc int)

//go:noescape
func dotAVX512x4x4(kc int, a, b *[4]*float32, out *[16]float32)

//go:noescape
func dotAVX2x3x4(kc int, a, b *[4]*float32, out *[16]float32)

var (
	dotAVX512 = &dotKernel{fn: dotAVX512x4x4, ti: 4, tj: 4, mult: 1, maxM: 32}
	dotAVX2   = &dotKernel{fn: dotAVX2x3x4, ti: 3, tj: 4, mult: 8}
)

// The tile kernels (A by columns) reading B in place.

//go:noescape
func tileAVX512x14x32B(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x12x32B(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x8x48B(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x6x64B(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX2x6x16B(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

// A short, wide tile for C with four rows or fewer.

//go:noescape
func tileAVX512x4x96(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x4x96R(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func tileAVX512x4x96B(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

//go:noescape
func tileAVX512x4x96RB(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)

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

// asmKernel describes a family of assembly microkernels (A by columns or by
// rows, B packed or in place) with the blocking used on this machine's caches
// (32 KiB L1d, 1 MiB L2 per core): kc = 256 steps, an A block of about 340
// rows (about 360 KiB, in L2) and B blocks of up to 2048 columns (2 MiB, in
// L3). The speeds are relative single-thread throughputs on whole tiles,
// measured on AMD Zen 4.
func asmKernel(name, isa string, speed float64, mr, nr int, tile, tileRows func(kc int, a, b, c *float32, ldc int, alpha, beta float32), tileB, tileRowsB func(kc int, a, b, c *float32, ldc int, alpha, beta float32, ldb int)) *gemmKernel {
	return &gemmKernel{
		name: name, isa: isa, speed: speed,
		mr: mr, nr: nr,
		mc: (336 + mr - 1) / mr * mr, kc: 256, nc: 2048,
		tile:     asmTile(mr, nr, 0, tile),
		tileRows: asmTile(mr, nr, aRowStride, tileRows),
		ars:      aRowStride,
		tileB: func(kc int, a, b, c []float32, ldc int, alpha, beta float32, ldb int) {
			_ = a[mr*kc-1]
			_ = b[(kc-1)*ldb+nr-1]
			_ = c[(mr-1)*ldc+nr-1]
			tileB(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, ldb)
		},
		tileRowsB: func(kc int, a, b, c []float32, ldc int, alpha, beta float32, ldb int) {
			_ = a[(mr-1)*aRowStride+kc-1]
			_ = b[(kc-1)*ldb+nr-1]
			_ = c[(mr-1)*ldc+nr-1]
			tileRowsB(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, ldb)
		},
	}
}

var (
	kernelAVX512x6x64  = asmKernel("avx512x6x64", "avx512", 1, 6, 64, tileAVX512x6x64, tileAVX512x6x64R, tileAVX512x6x64B, tileAVX512x6x64RB)
	kernelAVX512x14x32 = asmKernel("avx512x14x32", "avx512", 0.98, 14, 32, tileAVX512x14x32, tileAVX512x14x32R, tileAVX512x14x32B, tileAVX512x14x32RB)
	kernelAVX512x12x32 = asmKernel("avx512x12x32", "avx512", 0.97, 12, 32, tileAVX512x12x32, tileAVX512x12x32R, tileAVX512x12x32B, tileAVX512x12x32RB)
	kernelAVX512x8x48  = asmKernel("avx512x8x48", "avx512", 0.93, 8, 48, tileAVX512x8x48, tileAVX512x8x48R, tileAVX512x8x48B, tileAVX512x8x48RB)
	kernelAVX512x4x96  = asmKernel("avx512x4x96", "avx512", 0.9, 4, 96, tileAVX512x4x96, tileAVX512x4x96R, tileAVX512x4x96B, tileAVX512x4x96RB)
	kernelAVX2x6x16    = asmKernel("avx2x6x16", "avx2", 1, 6, 16, tileAVX2x6x16, tileAVX2x6x16R, tileAVX2x6x16B, tileAVX2x6x16RB)
)

// hwLevel returns the best instruction set of this CPU that the kernels
// have assembly for.
func hwLevel() isaLevel {
	switch {
	case cpu.X86.HasAVX512F:
		return levelAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return levelAVX2
	}
	return levelGeneric
}

func init() {
	for _, k := range []*gemmKernel{kernelAVX512x14x32, kernelAVX512x12x32, kernelAVX512x8x48, kernelAVX512x6x64, kernelAVX512x4x96} {
		k.copyMasked, k.transpose, k.tsize = copyMaskedAVX512, transpose16AVX512, 16
	}
	kernelAVX2x6x16.transpose, kernelAVX2x6x16.tsize = transpose8AVX2, 8
	switch {
	case level >= levelAVX512:
		gemmDot = dotAVX512
	case level >= levelAVX2:
		gemmDot = dotAVX2
	}
}

// dotKernels lists the dot kernels usable on this machine, fastest first.
func dotKernels() []*dotKernel {
	var ks []*dotKernel
	if level >= levelAVX512 {
		ks = append(ks, dotAVX512)
	}
	if level >= levelAVX2 {
		ks = append(ks, dotAVX2)
	}
	return ks
}

// gemmKernels lists the microkernels usable on this machine, fastest first.
func gemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if level >= levelAVX512 {
		ks = append(ks, kernelAVX512x6x64, kernelAVX512x14x32, kernelAVX512x12x32, kernelAVX512x8x48, kernelAVX512x4x96)
	}
	if level >= levelAVX2 {
		ks = append(ks, kernelAVX2x6x16)
	}
	return append(ks, kernelGo)
}

func init() {
	if level < levelAVX512 {
		return
	}
	transpose16 = transpose16AVX512
	dconvAsm = func(m int) dconvKernel {
		fn := dconvAVX512[m]
		return func(k int, taps []int, w, x, y, bias []float32) {
			_ = y[m*dconvLanes-1]
			var b *float32
			if bias != nil {
				_ = bias[m-1]
				b = &bias[0]
			}
			if len(taps) < 2 || k == 0 {
				fn(0, nil, 0, nil, nil, &y[0], b)
				return
			}
			fn(k, &taps[0], len(taps)/2, &w[0], &x[0], &y[0], b)
		}
	}
}

func init() {
	if level < levelAVX512 {
		return
	}
	dconvWAsm = func(m, nv int) dconvWKernel {
		fn := dconvWAVX512[nv][m]
		nr := nv * dconvLanes
		return func(segs []int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
			if len(segs) < 3 {
				return
			}
			_ = c[(m-1)*ldc+nr-1]
			fn(&segs[0], len(segs)/3, &a[0], lda, &b[0], ldb, &c[0], ldc)
		}
	}
}

//go:noescape
func fmaPeakAVX512(n int)

// fmaPeak runs n iterations of 24 independent vector FMAs (16 lanes each)
// and reports whether the machine has them.
func fmaPeak(n int) bool {
	if level < levelAVX512 {
		return false
	}
	fmaPeakAVX512(n)
	return true
}
