package tensor

import "github.com/gantry-go/gantry/internal/kernels"

// Scratch buffers for kernels come from the pool in package kernels (see
// kernels.GetScratch): their contents are garbage on get.

func getScratch(n int) *[]float32 { return kernels.GetScratch(n) }

func putScratch(p *[]float32) { kernels.PutScratch(p) }
