// Package tensor provides dense float32 N-dimensional arrays and the
// operations deep learning needs on them: broadcasting arithmetic, unary math,
// reductions, batched matrix products, shape manipulation, and NCHW image
// operations (convolution and its two gradients, nearest upsampling, average
// pooling).
//
// # Layout and ownership
//
// A Tensor is a shape and a contiguous row-major []float32 of exactly the
// shape's size. There are no strides: every operation returns a new, compact
// tensor, except Reshape, which returns a view sharing the same data. The slice
// returned by Data is the tensor's storage; writing to it changes the tensor
// (and every view of it).
//
// Operations never modify their arguments. The functions ending in Into write
// into a caller-supplied destination instead of allocating, for hot loops.
//
// # Broadcasting
//
// Binary operations follow NumPy's rules: shapes are aligned on the right,
// and a dimension of size 1 stretches to match the other operand.
//
// # Errors
//
// Shape mistakes are programmer errors: operations panic with a message of
// the form "tensor: Op: what is wrong, with the shapes". Each function
// documents when it panics.
//
// # Images
//
// Images are NCHW. Conv2d, Conv2dBias and the two gradients check shapes
// here and leave the choice of algorithm (direct kernels on blocks of 16
// images, implicit GEMM, im2col, one GEMM per image) to internal/kernels.
// Pooling takes PoolParams: AvgPool2d(x, Window(2)) is the paper's mean
// pool, MaxPool2d returns maxima and MaxPool2dIndices also the positions its
// gradient (ScatterAddPlanes) needs.
//
// # Parallelism
//
// Large operations split their work over GOMAXPROCS goroutines through the
// internal kernels package. Tensors are not safe for concurrent mutation, but
// any number of goroutines may read the same tensor.
package tensor
