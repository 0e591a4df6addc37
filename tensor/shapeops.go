package tensor

import (
	"fmt"
	"slices"
)

// stridedCopy copies the elements of src, read with the given strides over
// the dims of dst, into the compact dst.
func stridedCopy(dst []float32, dims []int, src []float32, strides []int) {
	if len(dst) == 0 {
		return
	}
	// merge adjacent dims where src is contiguous across them
	md := []int{1}
	ms := []int{1}
	if len(dims) > 0 {
		md = []int{dims[len(dims)-1]}
		ms = []int{strides[len(dims)-1]}
		for i := len(dims) - 2; i >= 0; i-- {
			if strides[i] == ms[0]*md[0] {
				md[0] *= dims[i]
				continue
			}
			md = append([]int{dims[i]}, md...)
			ms = append([]int{strides[i]}, ms...)
		}
	}
	nd := len(md)
	inner, is := md[nd-1], ms[nd-1]
	idx := make([]int, nd)
	off := 0
	for o := 0; o < len(dst); o += inner {
		d := dst[o : o+inner]
		if is == 1 {
			copy(d, src[off:off+inner])
		} else {
			for i := range d {
				d[i] = src[off+i*is]
			}
		}
		for k := nd - 2; k >= 0; k-- {
			idx[k]++
			off += ms[k]
			if idx[k] < md[k] {
				break
			}
			off -= ms[k] * md[k]
			idx[k] = 0
		}
	}
}

func compactStrides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

// Permute returns t with its axes reordered: axis i of the result is axis
// perm[i] of t.
//
// It panics if perm is not a permutation of t's axes.
func Permute(t *Tensor, perm ...int) *Tensor {
	if len(perm) != len(t.shape) {
		panic(fmt.Sprintf("tensor: Permute: %v is not a permutation for shape %v", perm, t.shape))
	}
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			panic(fmt.Sprintf("tensor: Permute: %v is not a permutation for shape %v", perm, t.shape))
		}
		seen[p] = true
	}
	in := compactStrides(t.shape)
	shape := make([]int, len(perm))
	strides := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = t.shape[p]
		strides[i] = in[p]
	}
	out := New(shape...)
	stridedCopy(out.data, shape, t.data, strides)
	return out
}

// Transpose returns t with axes i and j swapped (negative axes count from
// the end).
//
// It panics if an axis is out of range.
func Transpose(t *Tensor, i, j int) *Tensor {
	i, j = t.axis("Transpose", i), t.axis("Transpose", j)
	perm := make([]int, len(t.shape))
	for k := range perm {
		perm[k] = k
	}
	perm[i], perm[j] = perm[j], perm[i]
	return Permute(t, perm...)
}

// Slice returns the elements of t with index in [start, end) along axis.
//
// It panics if the axis or the range is out of bounds.
func Slice(t *Tensor, axis, start, end int) *Tensor {
	axis = t.axis("Slice", axis)
	if start < 0 || end > t.shape[axis] || start > end {
		panic(fmt.Sprintf("tensor: Slice: range [%d,%d) out of bounds for axis %d of shape %v", start, end, axis, t.shape))
	}
	shape := slices.Clone(t.shape)
	shape[axis] = end - start
	out := New(shape...)
	outer, inner := splitAt(t.shape, axis)
	n := t.shape[axis]
	w := (end - start) * inner
	for o := 0; o < outer; o++ {
		copy(out.data[o*w:(o+1)*w], t.data[(o*n+start)*inner:])
	}
	return out
}

// splitAt returns the product of the dims before axis and after it.
func splitAt(shape []int, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		if i < axis {
			outer *= d
		} else if i > axis {
			inner *= d
		}
	}
	return outer, inner
}

// Concat joins tensors along axis. All must have the same shape except
// along axis.
//
// It panics if ts is empty or the shapes disagree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Concat: no tensors")
	}
	axis = ts[0].axis("Concat", axis)
	shape := slices.Clone(ts[0].shape)
	shape[axis] = 0
	for _, t := range ts {
		if len(t.shape) != len(shape) {
			panic(fmt.Sprintf("tensor: Concat: shapes %v and %v differ in rank", ts[0].shape, t.shape))
		}
		for i, d := range t.shape {
			if i != axis && d != shape[i] {
				panic(fmt.Sprintf("tensor: Concat: shapes %v and %v differ off axis %d", ts[0].shape, t.shape, axis))
			}
		}
		shape[axis] += t.shape[axis]
	}
	out := New(shape...)
	outer, inner := splitAt(shape, axis)
	w := shape[axis] * inner
	pos := 0
	for _, t := range ts {
		tw := t.shape[axis] * inner
		for o := 0; o < outer; o++ {
			copy(out.data[o*w+pos:o*w+pos+tw], t.data[o*tw:(o+1)*tw])
		}
		pos += tw
	}
	return out
}

// Split cuts t along axis into pieces of the given sizes.
//
// It panics if the sizes do not add up to the axis's length.
func Split(t *Tensor, axis int, sizes ...int) []*Tensor {
	axis = t.axis("Split", axis)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("tensor: Split: negative size in %v", sizes))
		}
		total += s
	}
	if total != t.shape[axis] {
		panic(fmt.Sprintf("tensor: Split: sizes %v do not add up to %d (axis %d of %v)", sizes, t.shape[axis], axis, t.shape))
	}
	out := make([]*Tensor, len(sizes))
	start := 0
	for i, s := range sizes {
		out[i] = Slice(t, axis, start, start+s)
		start += s
	}
	return out
}

// Pad returns t with pads[i][0] elements of value before and pads[i][1]
// after it along each axis i.
//
// It panics if len(pads) is not t's rank or a pad is negative.
func Pad(t *Tensor, value float32, pads ...[2]int) *Tensor {
	if len(pads) != len(t.shape) {
		panic(fmt.Sprintf("tensor: Pad: %d pads for shape %v", len(pads), t.shape))
	}
	shape := slices.Clone(t.shape)
	for i, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			panic(fmt.Sprintf("tensor: Pad: negative pad %v", pads))
		}
		shape[i] += p[0] + p[1]
	}
	out := Full(value, shape...)
	if len(t.data) == 0 {
		return out
	}
	// Copy rows of the last axis into place.
	ost := compactStrides(shape)
	nd := len(shape)
	if nd == 0 {
		copy(out.data, t.data)
		return out
	}
	inner := t.shape[nd-1]
	idx := make([]int, nd)
	for o := 0; o < len(t.data); o += inner {
		off := pads[nd-1][0]
		for k := 0; k < nd-1; k++ {
			off += (idx[k] + pads[k][0]) * ost[k]
		}
		copy(out.data[off:off+inner], t.data[o:o+inner])
		for k := nd - 2; k >= 0; k-- {
			idx[k]++
			if idx[k] < t.shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// IndexSelect returns the slices of t at the given indices along axis, in
// that order (indices may repeat).
//
// It panics if the axis or an index is out of range.
func IndexSelect(t *Tensor, axis int, idx []int) *Tensor {
	axis = t.axis("IndexSelect", axis)
	n := t.shape[axis]
	shape := slices.Clone(t.shape)
	shape[axis] = len(idx)
	out := New(shape...)
	outer, inner := splitAt(t.shape, axis)
	for o := 0; o < outer; o++ {
		for k, i := range idx {
			if i < 0 || i >= n {
				panic(fmt.Sprintf("tensor: IndexSelect: index %d out of range [0,%d) on axis %d of %v", i, n, axis, t.shape))
			}
			copy(out.data[(o*len(idx)+k)*inner:(o*len(idx)+k+1)*inner], t.data[(o*n+i)*inner:])
		}
	}
	return out
}

// IndexAdd returns a copy of t with the slices of src added at the given
// indices along axis: the adjoint of IndexSelect. Repeated indices add up.
//
// It panics if the shapes disagree or an index is out of range.
func IndexAdd(t *Tensor, axis int, idx []int, src *Tensor) *Tensor {
	axis = t.axis("IndexAdd", axis)
	want := slices.Clone(t.shape)
	want[axis] = len(idx)
	if !slices.Equal(want, src.shape) {
		panic(fmt.Sprintf("tensor: IndexAdd: source shape %v, want %v", src.shape, want))
	}
	out := t.Clone()
	n := t.shape[axis]
	outer, inner := splitAt(t.shape, axis)
	for o := 0; o < outer; o++ {
		for k, i := range idx {
			if i < 0 || i >= n {
				panic(fmt.Sprintf("tensor: IndexAdd: index %d out of range [0,%d) on axis %d of %v", i, n, axis, t.shape))
			}
			d := out.data[(o*n+i)*inner : (o*n+i+1)*inner]
			s := src.data[(o*len(idx)+k)*inner:]
			for j := range d {
				d[j] += s[j]
			}
		}
	}
	return out
}

// OneHot returns a [len(labels), n] tensor with a 1 at each label's column.
//
// It panics if a label is outside [0, n).
func OneHot(labels []int, n int) *Tensor {
	out := New(len(labels), n)
	for i, l := range labels {
		if l < 0 || l >= n {
			panic(fmt.Sprintf("tensor: OneHot: label %d outside [0,%d)", l, n))
		}
		out.data[i*n+l] = 1
	}
	return out
}
