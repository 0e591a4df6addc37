//go:build !amd64 || noasm

package kernels

// hwLevel returns the instruction set of the kernels: plain Go.
func hwLevel() isaLevel { return levelGeneric }

// gemmKernels lists the microkernels usable on this machine, fastest first.
func gemmKernels() []*gemmKernel { return []*gemmKernel{kernelGo} }

// dotKernels lists the dot kernels usable on this machine: none.
func dotKernels() []*dotKernel { return nil }

// fmaPeak reports that there is no vector FMA loop to measure.
func fmaPeak(n int) bool { return false }
