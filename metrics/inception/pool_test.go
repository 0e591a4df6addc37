package inception

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gantry-go/gantry/tensor"
)

// The separable pools against the tensor package's reference pooling, on
// odd sizes down to a single pixel.
func TestPoolsMatchTensor(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, hw := range [][2]int{{1, 1}, {1, 5}, {2, 2}, {3, 3}, {4, 7}, {8, 8}, {9, 6}, {17, 17}, {35, 33}} {
		x := tensor.RandN(r, 2, 3, hw[0], hw[1])
		name := fmt.Sprintf("%dx%d", hw[0], hw[1])
		want := tensor.AvgPool2dWith(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true})
		if got := avgPool3(x); !tensor.AllClose(got, want, 1e-6, 1e-6) {
			t.Errorf("avgPool3(%s) = %v; want %v", name, got, want)
		}
		want, _ = tensor.MaxPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}})
		if got := maxPool3(x, 1, 1); !tensor.Equal(got, want) {
			t.Errorf("maxPool3(%s, 1, 1) = %v; want %v", name, got, want)
		}
		if hw[0] >= 3 && hw[1] >= 3 {
			want, _ = tensor.MaxPool2d(x, tensor.PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}})
			if got := maxPool3(x, 2, 0); !tensor.Equal(got, want) {
				t.Errorf("maxPool3(%s, 2, 0) = %v; want %v", name, got, want)
			}
		}
	}
}

func TestMaxPool3NaNWins(t *testing.T) {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, float32(math.NaN()), 6, 7, 8, 9}, 1, 1, 3, 3)
	for _, v := range maxPool3(x, 1, 1).Data() {
		if v == v {
			t.Fatalf("maxPool3 with a NaN in every window = %v; want all NaN", maxPool3(x, 1, 1))
		}
	}
	if v := maxPool3(x, 2, 0).Item(); v == v {
		t.Errorf("maxPool3(x, 2, 0) = %v; want NaN", v)
	}
}
