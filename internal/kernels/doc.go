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
