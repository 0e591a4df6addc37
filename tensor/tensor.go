package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/internal/bufpool"
	"github.com/gantry-go/gantry/internal/kernels"
)

// Tensor is a dense, row-major array of float32 values.
// The zero value is not usable; make tensors with the constructors.
type Tensor struct {
	shape []int
	data  []float32
}

// numel returns the number of elements of shape, panicking on a negative
// dimension or a count that does not fit in an int.
func numel(op string, shape []int) int {
	n, over := 1, false
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: %s: negative dimension in shape %v", op, shape))
		}
		if d != 0 && n > math.MaxInt/d {
			over = true
		}
		n *= d
	}
	if over && !slices.Contains(shape, 0) {
		panic(fmt.Sprintf("tensor: %s: shape %v has more elements than an int can count", op, shape))
	}
	return n
}

// New returns a zero-filled tensor of the given shape. A shape with no
// dimensions is a scalar holding one element.
//
// It panics if a dimension is negative or the element count overflows an
// int.
func New(shape ...int) *Tensor {
	n := numel("New", shape)
	b, fresh := bufpool.Take(n)
	if !fresh {
		kernels.ParallelFor(n, clearGrain, func(lo, hi int) { clear(b[lo:hi]) })
	}
	return &Tensor{shape: slices.Clone(shape), data: b}
}

// clearGrain is the fewest elements a worker clears: zeroing is memory
// bound, so only large buffers gain from a second core.
const clearGrain = 1 << 16

// newDirty returns a tensor of the given shape whose values are arbitrary,
// for an operation that writes every element before anything reads one.
func newDirty(op string, shape []int) *Tensor {
	return &Tensor{shape: slices.Clone(shape), data: bufpool.Get(numel(op, shape))}
}

// Zeros is New: a zero-filled tensor.
func Zeros(shape ...int) *Tensor { return New(shape...) }

// ZerosLike returns a zero-filled tensor with t's shape.
func ZerosLike(t *Tensor) *Tensor { return New(t.shape...) }

// Ones returns a tensor of the given shape filled with 1.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Full returns a tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	t.Fill(v)
	return t
}

// Scalar returns a tensor of shape [] holding v.
func Scalar(v float32) *Tensor { return &Tensor{shape: []int{}, data: []float32{v}} }

// FromSlice returns a tensor of the given shape that uses data as its storage
// (no copy). With no shape, the tensor is one-dimensional of len(data).
//
// It panics if len(data) differs from the shape's size.
func FromSlice(data []float32, shape ...int) *Tensor {
	if shape == nil {
		shape = []int{len(data)}
	}
	if n := numel("FromSlice", shape); n != len(data) {
		panic(fmt.Sprintf("tensor: FromSlice: %d values for shape %v of size %d", len(data), shape, n))
	}
	return &Tensor{shape: slices.Clone(shape), data: data}
}

// Arange returns the one-dimensional tensor [start, start+step, ...] of the
// values below stop (above it when step is negative), as numpy.arange.
//
// It panics if step is 0.
func Arange(start, stop, step float32) *Tensor {
	if step == 0 {
		panic("tensor: Arange: step is 0")
	}
	n := int(math.Ceil(float64(stop-start) / float64(step)))
	n = max(n, 0)
	t := New(n)
	for i := range t.data {
		t.data[i] = start + float32(i)*step
	}
	return t
}

// RandN returns a tensor of standard normal samples drawn from r.
func RandN(r *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.data {
		t.data[i] = float32(r.NormFloat64())
	}
	return t
}

// RandU returns a tensor of samples drawn uniformly from [lo, hi) with r.
func RandU(r *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.data {
		t.data[i] = lo + (hi-lo)*float32(r.Float64())
	}
	return t
}

// Shape returns the tensor's dimensions. The caller must not modify the
// returned slice.
func (t *Tensor) Shape() []int { return t.shape }

// Dims returns the number of dimensions (0 for a scalar).
func (t *Tensor) Dims() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
//
// It panics if i is out of range.
func (t *Tensor) Dim(i int) int { return t.shape[t.axis("Dim", i)] }

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.data) }

// Data returns the tensor's storage, row-major. Writes through it modify the
// tensor.
func (t *Tensor) Data() []float32 { return t.data }

// Item returns the single value of a one-element tensor.
//
// It panics if the tensor does not hold exactly one element.
func (t *Tensor) Item() float32 {
	if len(t.data) != 1 {
		panic(fmt.Sprintf("tensor: Item: shape %v holds %d elements, want 1", t.shape, len(t.data)))
	}
	return t.data[0]
}

// offset returns the storage index of the element at idx.
func (t *Tensor) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: %s: %d indices for shape %v", op, len(idx), t.shape))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			panic(fmt.Sprintf("tensor: %s: index %v out of range for shape %v", op, idx, t.shape))
		}
		off = off*t.shape[i] + x
	}
	return off
}

// At returns the element at the given indices.
//
// It panics if the number of indices differs from Dims or one is out of range.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.offset("At", idx)] }

// Set stores v at the given indices.
//
// It panics if the number of indices differs from Dims or one is out of range.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.offset("Set", idx)] = v }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	if v == 0 {
		clear(t.data)
		return
	}
	for i := range t.data {
		t.data[i] = v
	}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: slices.Clone(t.shape), data: slices.Clone(t.data)}
}

// CopyFrom copies src's elements into t.
//
// It panics if the shapes differ.
func (t *Tensor) CopyFrom(src *Tensor) {
	mustSameShape("CopyFrom", t, src)
	copy(t.data, src.data)
}

// Reshape returns a view of t with a new shape and the same storage. One
// dimension may be -1, meaning whatever size makes the element count match.
//
// It panics if the sizes differ or more than one dimension is -1.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	return &Tensor{shape: resolveShape("Reshape", t.shape, len(t.data), shape), data: t.data}
}

func resolveShape(op string, old []int, n int, shape []int) []int {
	s := slices.Clone(shape)
	free := -1
	prod := 1
	for i, d := range s {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			panic(fmt.Sprintf("tensor: %s: bad shape %v for %v", op, shape, old))
		default:
			if d != 0 && prod > math.MaxInt/d && !slices.Contains(s, 0) {
				panic(fmt.Sprintf("tensor: %s: shape %v has more elements than an int can count", op, shape))
			}
			prod *= d
		}
	}
	if free >= 0 {
		if prod == 0 || n%prod != 0 {
			panic(fmt.Sprintf("tensor: %s: cannot infer -1 in %v from %v", op, shape, old))
		}
		s[free] = n / prod
		prod *= s[free]
	}
	if prod != n {
		panic(fmt.Sprintf("tensor: %s: shape %v has %d elements, %v has %d", op, shape, prod, old, n))
	}
	return s
}

// SameShape reports whether t and u have identical shapes.
func (t *Tensor) SameShape(u *Tensor) bool { return slices.Equal(t.shape, u.shape) }

func mustSameShape(op string, a, b *Tensor) {
	if !slices.Equal(a.shape, b.shape) {
		panic(fmt.Sprintf("tensor: %s: shapes %v and %v differ", op, a.shape, b.shape))
	}
}

// axis resolves a possibly negative axis against t's rank.
func (t *Tensor) axis(op string, a int) int {
	n := len(t.shape)
	if a < 0 {
		a += n
	}
	if a < 0 || a >= n {
		panic(fmt.Sprintf("tensor: %s: axis %d out of range for shape %v", op, a, t.shape))
	}
	return a
}

// String formats the tensor as its shape and, for small tensors, its values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.shape)
	if len(t.data) <= 64 {
		fmt.Fprintf(&b, "%v", t.data)
	} else {
		fmt.Fprintf(&b, "[%v ... %v]", t.data[:4], t.data[len(t.data)-4:])
	}
	return b.String()
}

// Equal reports whether t and u have the same shape and identical elements.
func Equal(t, u *Tensor) bool {
	return slices.Equal(t.shape, u.shape) && slices.Equal(t.data, u.data)
}

// AllClose reports whether t and u have the same shape and every pair of
// elements satisfies |a-b| <= atol + rtol*|b|, as numpy.allclose.
func AllClose(t, u *Tensor, rtol, atol float64) bool {
	if !slices.Equal(t.shape, u.shape) {
		return false
	}
	for i, a := range t.data {
		b := u.data[i]
		if math.Abs(float64(a)-float64(b)) > atol+rtol*math.Abs(float64(b)) {
			return false
		}
	}
	return true
}
