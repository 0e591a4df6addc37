package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
)

// Format is the value of the "format" field this package reads.
const Format = "gantry-golden-1"

// Tensor is one named array from a golden file: a shape and its elements in
// row-major order. len(Data) is always the product of Shape (1 for a scalar,
// whose Shape is empty).
type Tensor struct {
	Shape []int
	Data  []float32
}

// Len returns the number of elements, the product of Shape.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is the whole content of a golden file.
type File struct {
	// Tensors maps each name to its tensor; never nil after a successful Read.
	Tensors map[string]Tensor
	// Meta is the decoded "meta" object (JSON numbers as float64, arrays as
	// []any, objects as map[string]any); an empty map if the file has none.
	Meta map[string]any
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for k := range f.Tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Load reads the golden file at path and returns its tensors.
func Load(path string) (map[string]Tensor, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return f.Tensors, nil
}

// LoadMeta reads the golden file at path and returns its "meta" object.
// The whole file is checked, tensors included.
func LoadMeta(path string) (map[string]any, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return f.Meta, nil
}

// Read reads and checks the golden file at path.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("golden: %s: %w", path, err)
	}
	return f, nil
}

type rawFile struct {
	Format  *string                    `json:"format"`
	Tensors map[string]json.RawMessage `json:"tensors"`
	Meta    map[string]any             `json:"meta"`
}

const maxInt = int(^uint(0) >> 1)

type rawTensor struct {
	Shape *[]int         `json:"shape"`
	Data  *[]json.Number `json:"data"`
}

// Parse decodes and checks the content of a golden file. Its errors name the
// offending key but not a file; Read adds the path.
func Parse(b []byte) (*File, error) {
	var raw rawFile
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	switch {
	case raw.Format == nil:
		return nil, fmt.Errorf("missing \"format\" (want %q)", Format)
	case *raw.Format != Format:
		return nil, fmt.Errorf("format %q, want %q", *raw.Format, Format)
	case raw.Tensors == nil:
		return nil, fmt.Errorf("missing \"tensors\" object")
	}
	f := &File{Tensors: make(map[string]Tensor, len(raw.Tensors)), Meta: raw.Meta}
	if f.Meta == nil {
		f.Meta = map[string]any{}
	}
	for name, msg := range raw.Tensors {
		t, err := parseTensor(msg)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		f.Tensors[name] = t
	}
	return f, nil
}

func parseTensor(msg json.RawMessage) (Tensor, error) {
	if bytes.Equal(bytes.TrimSpace(msg), []byte("null")) {
		return Tensor{}, fmt.Errorf("null instead of an object")
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	var rt rawTensor
	if err := dec.Decode(&rt); err != nil {
		return Tensor{}, err
	}
	if rt.Shape == nil {
		return Tensor{}, fmt.Errorf("missing \"shape\"")
	}
	if rt.Data == nil {
		return Tensor{}, fmt.Errorf("missing \"data\"")
	}
	shape := *rt.Shape
	if shape == nil {
		shape = []int{}
	}
	n := 1
	for i, d := range shape {
		if d < 0 {
			return Tensor{}, fmt.Errorf("shape %v: negative dimension %d at axis %d", shape, d, i)
		}
		if d != 0 && n > maxInt/d {
			return Tensor{}, fmt.Errorf("shape %v: too many elements", shape)
		}
		n *= d
	}
	nums := *rt.Data
	if n != len(nums) {
		return Tensor{}, fmt.Errorf("shape %v holds %d elements but data has %d", shape, n, len(nums))
	}
	data := make([]float32, len(nums))
	for i, num := range nums {
		if num == "" {
			// encoding/json leaves a null element as the zero json.Number.
			return Tensor{}, fmt.Errorf("data[%d]: null instead of a number", i)
		}
		v, err := strconv.ParseFloat(string(num), 32)
		if err != nil {
			return Tensor{}, fmt.Errorf("data[%d]: %q does not fit a float32", i, num)
		}
		data[i] = float32(v)
	}
	return Tensor{Shape: shape, Data: data}, nil
}
