package tensor_test

import (
	"fmt"

	"github.com/gantry-go/gantry/tensor"
)

func Example() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	bias := tensor.FromSlice([]float32{10, 20, 30}, 3)
	y := tensor.Add(x, bias) // broadcasts over the rows
	fmt.Println(y.Shape(), y.Data())
	fmt.Println(tensor.Sum(y, false, 0).Data())
	// Output:
	// [2 3] [11 22 33 14 25 36]
	// [25 47 69]
}
