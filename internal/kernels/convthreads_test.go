package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestConvSameAtAnyThreadCount runs the three convolutions on every path
// (the direct one through its Go kernel where the machine lacks the
// assembly) at GOMAXPROCS 1, 2 and 4, on shapes large enough to be split
// between workers, and requires bit-identical results: every sum is taken
// in an order fixed by the data, not by the workers.
func TestConvSameAtAnyThreadCount(t *testing.T) {
	if testing.Short() {
		t.Skip("large convolutions")
	}
	defer func(tu ConvTuning, asm func(int) dconvKernel, procs int) {
		Tuning, dconvAsm = tu, asm
		runtime.GOMAXPROCS(procs)
	}(Tuning, dconvAsm, runtime.GOMAXPROCS(0))
	if dconvAsm == nil {
		dconvAsm = dconvRef
	}
	r := rand.New(rand.NewPCG(7, 16))
	for _, s := range []struct {
		n, o int
		g    ConvGeom
	}{
		{32, 32, ConvGeom{C: 32, H: 16, W: 16, KH: 3, KW: 3, PH: 1, PW: 1}},
		{16, 64, ConvGeom{C: 32, H: 16, W: 16, KH: 1, KW: 1}},
		{32, 16, ConvGeom{C: 16, H: 32, W: 32, KH: 3, KW: 3, PH: 1, PW: 1}},
	} {
		g, n, o := s.g, s.n, s.o
		g.SH, g.SW, g.DH, g.DW = 1, 1, 1, 1
		g.Ho, g.Wo = OutSize(g.H, g.KH, 1, g.PH, 1), OutSize(g.W, g.KW, 1, g.PW, 1)
		x, w, gy := randSlice(r, n*g.C*g.H*g.W), randSlice(r, o*g.C*g.KH*g.KW), randSlice(r, n*o*g.Ho*g.Wo)
		for _, p := range convPaths {
			var ref [3][]float32
			for _, procs := range []int{1, 2, 4} {
				runtime.GOMAXPROCS(procs)
				p.set(&Tuning)
				got := [3][]float32{make([]float32, n*o*g.Ho*g.Wo), make([]float32, len(x)), make([]float32, len(w))}
				Conv2d(g, n, o, x, w, nil, got[0])
				Conv2dInputGrad(g, n, o, gy, w, got[1])
				Conv2dWeightGrad(g, n, o, x, gy, got[2])
				if procs == 1 {
					ref = got
					continue
				}
				for k, op := range []string{"Conv2d", "Conv2dInputGrad", "Conv2dWeightGrad"} {
					for i, v := range got[k] {
						if math.Float32bits(v) != math.Float32bits(ref[k][i]) {
							t.Errorf("%s %s %dx%v->%d at GOMAXPROCS %d: [%d] = %v; with 1, %v", p.name, op, n, []int{g.C, g.H, g.W}, o, procs, i, v, ref[k][i])
							break
						}
					}
				}
			}
		}
	}
}
