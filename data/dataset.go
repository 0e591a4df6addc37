package data

import (
	"fmt"
	"slices"

	"github.com/gantry-go/gantry/tensor"
)

// Dataset is a finite, indexed collection of images with optional labels.
//
// Image returns image i as a [C, H, W] tensor with values in [-1, 1]; every
// image of a dataset has the same shape. The returned tensor may share storage
// with the dataset and must not be modified. Label returns the class index of
// image i, or -1 if it has none. Implementations panic if i is out of range.
type Dataset interface {
	Len() int
	Image(i int) *tensor.Tensor
	Label(i int) int
}

// Classer is implemented by datasets whose labels have names: label k is
// Classes()[k].
type Classer interface {
	Classes() []string
}

// Copier is implemented by datasets that can write image i into a caller's
// buffer without allocating; the Loader uses it when present. dst has exactly
// C*H*W elements.
type Copier interface {
	CopyImage(dst []float32, i int)
}

// Classes returns the class names of ds, or nil if it has none.
func Classes(ds Dataset) []string {
	if c, ok := ds.(Classer); ok {
		return c.Classes()
	}
	return nil
}

// ImageShape returns the [C, H, W] shape of ds's images.
//
// It panics if ds is empty or its first image is not three-dimensional with
// every size at least 1.
func ImageShape(ds Dataset) []int {
	if ds.Len() == 0 {
		panic("data: ImageShape: empty dataset")
	}
	s := slices.Clone(ds.Image(0).Shape())
	if len(s) != 3 || s[0] < 1 || s[1] < 1 || s[2] < 1 {
		panic(fmt.Sprintf("data: ImageShape: the dataset's image 0 has shape %v; want [C, H, W] (a grayscale image is [1, H, W])", s))
	}
	return s
}

// Memory is a dataset held in memory: N images in one [N, C, H, W] tensor and
// N labels. The sources of this package (ImageFolder, LoadIDX) return one.
type Memory struct {
	images  *tensor.Tensor
	labels  []int
	classes []string
	skipped []*FileError
	per     int // C*H*W
}

// FromTensor returns a dataset of the images in the [N, C, H, W] tensor
// images, which it uses without copying. labels holds N class indices (-1 for
// none) or is nil for an unlabeled dataset; classes names the labels and may
// be nil. Values should lie in [-1, 1].
//
// It panics if images is nil or not four-dimensional, if len(labels) is
// neither 0 nor N, or if a label is below -1 or, with classes given, not
// below len(classes).
func FromTensor(images *tensor.Tensor, labels []int, classes []string) *Memory {
	if images == nil {
		panic("data: FromTensor: images is nil; want an [N, C, H, W] tensor")
	}
	s := images.Shape()
	if len(s) != 4 {
		panic(fmt.Sprintf("data: FromTensor: images have shape %v; want [N, C, H, W]", s))
	}
	n := s[0]
	if labels == nil {
		labels = make([]int, n)
		for i := range labels {
			labels[i] = -1
		}
	}
	if len(labels) != n {
		panic(fmt.Sprintf("data: FromTensor: %d labels for images of shape %v", len(labels), s))
	}
	for i, l := range labels {
		if l < -1 || (classes != nil && l >= len(classes)) {
			panic(fmt.Sprintf("data: FromTensor: label %d of image %d out of range for %d classes", l, i, len(classes)))
		}
	}
	return &Memory{images: images, labels: labels, classes: classes, per: s[1] * s[2] * s[3]}
}

// Len returns the number of images.
func (m *Memory) Len() int { return len(m.labels) }

func (m *Memory) check(op string, i int) {
	if i < 0 || i >= len(m.labels) {
		panic(fmt.Sprintf("data: %s: index %d out of range [0, %d)", op, i, len(m.labels)))
	}
}

// Image returns image i, a [C, H, W] view of the dataset's storage.
//
// It panics if i is out of range.
func (m *Memory) Image(i int) *tensor.Tensor {
	m.check("Image", i)
	s := m.images.Shape()
	return tensor.FromSlice(m.images.Data()[i*m.per:(i+1)*m.per], s[1], s[2], s[3])
}

// CopyImage copies image i into dst.
//
// It panics if i is out of range or len(dst) is not C*H*W.
func (m *Memory) CopyImage(dst []float32, i int) {
	m.check("CopyImage", i)
	if len(dst) != m.per {
		panic(fmt.Sprintf("data: CopyImage: destination of %d values for images of %d", len(dst), m.per))
	}
	copy(dst, m.images.Data()[i*m.per:(i+1)*m.per])
}

// Label returns the class of image i, or -1.
//
// It panics if i is out of range.
func (m *Memory) Label(i int) int {
	m.check("Label", i)
	return m.labels[i]
}

// Classes returns the class names, or nil. The caller must not modify them.
func (m *Memory) Classes() []string { return m.classes }

// Images returns all images as one [N, C, H, W] tensor (the dataset's storage,
// not a copy).
func (m *Memory) Images() *tensor.Tensor { return m.images }

// Labels returns the N labels (the dataset's storage, not a copy).
func (m *Memory) Labels() []int { return m.labels }

// Skipped returns the files that a source left out because they could not be
// read or decoded, each with its reason, in path order.
func (m *Memory) Skipped() []*FileError { return m.skipped }

// Materialize copies any dataset into memory; a *Memory is returned as is.
//
// It panics if ds is empty.
func Materialize(ds Dataset) *Memory {
	if m, ok := ds.(*Memory); ok {
		return m
	}
	n := ds.Len()
	if n == 0 {
		panic("data: Materialize: empty dataset")
	}
	s := ImageShape(ds)
	per := s[0] * s[1] * s[2]
	buf := make([]float32, n*per)
	labels := make([]int, n)
	for i := range n {
		copyImage(ds, buf[i*per:(i+1)*per], i, s)
		labels[i] = ds.Label(i)
	}
	return FromTensor(tensor.FromSlice(buf, n, s[0], s[1], s[2]), labels, Classes(ds))
}

// copyImage writes image i of ds, of shape want (or of len(dst) values when
// want is nil), into dst, without allocating when ds is a Copier.
func copyImage(ds Dataset, dst []float32, i int, want []int) {
	if c, ok := ds.(Copier); ok {
		c.CopyImage(dst, i)
		return
	}
	img := ds.Image(i)
	if want == nil && len(img.Data()) != len(dst) {
		panic(fmt.Sprintf("data: the dataset's image %d has shape %v; want %d values", i, img.Shape(), len(dst)))
	}
	if want != nil && !slices.Equal(img.Shape(), want) {
		panic(fmt.Sprintf("data: the dataset's image %d has shape %v; want %v as image 0", i, img.Shape(), want))
	}
	copy(dst, img.Data())
}
