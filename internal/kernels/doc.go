// Package kernels holds the numeric loops under package tensor: GEMM,
// convolution lowering (im2col/col2im), the direct convolution on blocks of
// 16 images (DirectConv, DirectConvWeightGrad), and the worker pool that
// spreads them over the machine's cores. Conv2d, Conv2dInputGrad and
// Conv2dWeightGrad (convpath.go) choose among the convolution algorithms
// for a shape, next to the kernels they choose between, so package tensor
// makes one call per convolution.
//
// Every kernel has a plain-Go reference. On amd64, faster implementations in
// assembly are chosen at run time from the CPU's features; building with
// -tags noasm leaves the reference alone. Callers never see which one runs.
//
// # Capability
//
// The kernels run on one instruction set, Capability(): "avx512" (AVX-512F),
// "avx2" (AVX2 and FMA) or "generic" (plain Go: other CPUs, other
// architectures, -tags noasm). It is the best the CPU and build have, capped
// by the environment variable GANTRY_CPU_CAPABILITY (PyTorch's
// ATEN_CPU_CAPABILITY), read once when the package is initialised:
//
//   - "avx512", "avx2" or "generic" (case and surrounding blanks ignored):
//     use at most that. A capped machine selects exactly the kernels, tiles
//     and cache blocking of a machine with only that instruction set: every
//     choice in the package depends on Capability(), never on the CPU's
//     feature bits directly.
//   - a level above what the CPU and build have: nothing is capped, the best
//     available runs, and a line on stderr says which.
//   - any other value: ignored, with a line on stderr. Empty or unset: no cap.
//
// For a given capability and thread count (GOMAXPROCS), results are
// bit-identical from run to run and from machine to machine: the algorithm
// of a convolution and the microkernel of a GEMM are chosen from the shape
// and Capability() alone, and work is split into ranges fixed by the shape
// and the thread count, whose sums are taken in an order fixed by the data
// (convolutions are bit-identical at any thread count). Nothing is chosen by
// timing at run time; the one clock the package reads is how long an idle
// helper goroutine polls for work before parking (parallel.go), which changes
// who computes a range, never what. The same holds only for binaries built
// alike: the same Go version and GOAMD64 (with GOAMD64=v3 the compiler fuses
// the plain-Go multiply-adds), on CPUs that both have FMA or both lack it
// (Go's math.Exp uses it on amd64).
//
// # Memory
//
// Kernels never allocate their outputs: the caller passes every slice, and a
// kernel writes only the elements its arguments describe (for Sgemm, the m×n
// window of C addressed through ldc), so guard bands around them stay intact.
// Scratch space comes from internal pools and is returned before the call ends.
//
// # Layout
//
// Matrices are row-major with an explicit leading dimension (the distance in
// elements between the starts of two rows), as in CBLAS with CblasRowMajor.
package kernels
