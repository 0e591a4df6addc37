package tensor

import "github.com/gantry-go/gantry/internal/kernels"

// Kernels reports the instruction set the numeric kernels under every
// operation run on: "avx512", "avx2" or "generic" (plain Go). It is the best
// the CPU and build have, capped by the environment variable
// GANTRY_CPU_CAPABILITY (read once at start-up, like PyTorch's
// ATEN_CPU_CAPABILITY). Results are bit for bit the same on any two machines
// that run the same kernels with the same number of threads (GOMAXPROCS), so
// a run that must be reproduced records both.
func Kernels() string { return kernels.Capability() }
