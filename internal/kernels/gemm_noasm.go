//go:build !amd64 || noasm

package kernels

// gemmKernels lists the microkernels usable on this machine, fastest first.
func gemmKernels() []*gemmKernel { return []*gemmKernel{kernelGo} }
