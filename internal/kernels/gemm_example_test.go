package kernels_test

import (
	"fmt"

	"github.com/gantry-go/gantry/internal/kernels"
)

// C = A·Bᵀ for a 2×3 A and a 2×3 B (so op(B) is 3×2), with beta = 0: C is
// not read, only written.
func ExampleSgemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0, 1,
		0, 1, 0,
	}
	c := make([]float32, 4)
	kernels.Sgemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

// A leading dimension larger than the width addresses a window of a bigger
// matrix: here C is the top-left 2×2 block of a 2×4 buffer, and beta = 1 adds
// the product to what is there.
func ExampleSgemm_window() {
	a := []float32{1, 2, 3, 4} // 2×2
	b := []float32{1, 1, 1, 1} // 2×2
	c := []float32{
		10, 10, -1, -1,
		10, 10, -1, -1,
	}
	kernels.Sgemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 1, c, 4)
	fmt.Println(c)
	// Output: [13 13 -1 -1 17 17 -1 -1]
}
