package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Limits on what Read accepts, and so on what Write writes.
const (
	// MaxHeaderBytes bounds the JSON header (16 MB: room for some
	// hundred thousand tensors; a parsed header takes a few times its
	// size in memory).
	MaxHeaderBytes = 16 << 20
	// MaxRank bounds the number of dimensions of a shape.
	MaxRank = 8
	// MaxElements bounds the elements of a tensor, counting every
	// non-zero dimension.
	MaxElements = math.MaxInt32
)

// MetadataKey is the header key of the string metadata.
const MetadataKey = "__metadata__"

// ErrFormat is wrapped by every error Read returns for content that is not
// a valid safetensors stream.
var ErrFormat = errors.New("safetensors: invalid data")

// DType names an element type as the format spells it.
type DType string

// The element types Read converts.
const (
	F16  DType = "F16"
	BF16 DType = "BF16"
	F32  DType = "F32"
	F64  DType = "F64"
	I32  DType = "I32"
	I64  DType = "I64"
)

// Size returns the bytes of one element, or 0 for a dtype Read does not
// convert.
func (d DType) Size() int {
	switch d {
	case F16, BF16:
		return 2
	case F32, I32:
		return 4
	case F64, I64:
		return 8
	}
	return 0
}

// Float is the Go element type a tensor is written from and read into.
type Float interface{ float32 | float64 }

// Tensor is one named tensor of a file.
type Tensor[T Float] struct {
	Name  string
	Shape []int // [] for a scalar
	Data  []T   // len(Data) is the product of Shape
	// DType is the dtype stored in the file: what Read found, converted
	// to T. Write stores T's dtype, or F16 when DType is F16 (each value
	// rounded to the nearest binary16, ties to even); it ignores other
	// values.
	DType DType
}

// stored returns the dtype Write stores a tensor of element type T as,
// given the tensor's requested DType.
func stored[T Float](requested DType) DType {
	if requested == F16 {
		return F16
	}
	return dtypeOf[T]()
}

func dtypeOf[T Float]() DType {
	var z T
	if _, ok := any(z).(float64); ok {
		return F64
	}
	return F32
}

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// Write writes tensors, in the order given, and the string metadata meta
// (nil for none) to w. It returns an error naming the key if a name, a
// shape or the metadata is one Read would refuse (see the package
// documentation), or if a tensor's Data does not fill its Shape; nothing is
// written then. Otherwise it returns w's error.
func Write[T Float](w io.Writer, tensors []Tensor[T], meta map[string]string) error {
	hdr, err := header(tensors, meta)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))))
	bw.Write(hdr)
	buf := make([]byte, 0, 32<<10)
	for _, t := range tensors {
		dt := stored[T](t.DType)
		size := dt.Size()
		for d := t.Data; len(d) > 0; {
			n := min(len(d), cap(buf)/size)
			buf = buf[:0]
			for _, v := range d[:n] {
				switch dt {
				case F64:
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(float64(v)))
				case F16:
					buf = binary.LittleEndian.AppendUint16(buf, floatToHalf(float32(v)))
				default:
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(v)))
				}
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			d = d[n:]
		}
	}
	return bw.Flush()
}

// header checks what Write is given and returns the padded JSON header.
func header[T Float](tensors []Tensor[T], meta map[string]string) ([]byte, error) {
	for k, v := range meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("safetensors: metadata %q is not valid UTF-8", k)
		}
	}
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(meta) > 0 {
		mb, err := json.Marshal(meta) // sorted keys
		if err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
		hdr.WriteString(strconv.Quote(MetadataKey) + ":")
		hdr.Write(mb)
	}
	seen := make(map[string]bool, len(tensors))
	var off uint64
	for _, t := range tensors {
		switch {
		case t.Name == "" || t.Name == MetadataKey:
			return nil, fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("safetensors: tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		n, err := elements(t.Name, t.Shape)
		if err != nil {
			return nil, err
		}
		if uint64(len(t.Data)) != n {
			return nil, fmt.Errorf("safetensors: tensor %q: %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		dt := stored[T](t.DType)
		end := off + n*uint64(dt.Size())
		eb, _ := json.Marshal(headerEntry{DType: dt, Shape: shape, DataOffsets: []uint64{off, end}})
		off = end
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		kb, _ := json.Marshal(t.Name)
		hdr.Write(kb)
		hdr.WriteByte(':')
		hdr.Write(eb)
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	if hdr.Len() > MaxHeaderBytes {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds %d", hdr.Len(), MaxHeaderBytes)
	}
	return hdr.Bytes(), nil
}

// elements checks a shape's rank and dimensions and returns its element
// count. Zero dimensions are skipped when bounding the size, so a shape
// cannot hide an overflowing product behind a zero.
func elements(name string, shape []int) (uint64, error) {
	if len(shape) > MaxRank {
		return 0, fmt.Errorf("tensor %q: shape of rank %d exceeds %d", name, len(shape), MaxRank)
	}
	n, bound := uint64(1), uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor %q: negative dimension in shape %v", name, shape)
		}
		if d == 0 {
			n = 0
			continue
		}
		if bound > MaxElements/uint64(d) {
			return 0, fmt.Errorf("tensor %q: shape %v is too large (more than %d elements)", name, shape, MaxElements)
		}
		bound *= uint64(d)
		n *= uint64(d)
	}
	return n, nil
}

// entry is a checked header entry.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end uint64
}

// Read reads a safetensors stream, converting every tensor to T, and
// returns the tensors in the order of their data and the metadata (empty,
// not nil, when the file has none). See the package documentation for what
// it checks; every error for invalid content wraps ErrFormat and names the
// key, and other errors come from r.
func Read[T Float](r io.Reader) ([]Tensor[T], map[string]string, error) {
	remaining := int64(-1)
	switch v := r.(type) {
	case interface{ Len() int }:
		remaining = int64(v.Len())
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			if pos, err := v.Seek(0, io.SeekCurrent); err == nil {
				remaining = st.Size() - pos
			}
		}
	}
	var lenb [8]byte
	if _, err := io.ReadFull(r, lenb[:]); err != nil {
		return nil, nil, formatErr("reading header length: %v", err)
	}
	hlen := binary.LittleEndian.Uint64(lenb[:])
	if hlen > MaxHeaderBytes {
		return nil, nil, formatErr("header length %d exceeds %d", hlen, MaxHeaderBytes)
	}
	if remaining >= 0 && hlen > uint64(remaining-8) {
		return nil, nil, formatErr("header length %d exceeds the %d bytes left", hlen, remaining-8)
	}
	// ReadAll grows with the data that arrives, not with what hlen claims.
	hdr, err := io.ReadAll(io.LimitReader(r, int64(hlen)))
	if err != nil {
		return nil, nil, formatErr("reading header: %v", err)
	}
	if uint64(len(hdr)) != hlen {
		return nil, nil, formatErr("header truncated: %d of %d bytes", len(hdr), hlen)
	}
	entries, meta, err := parseHeader(hdr)
	if err != nil {
		return nil, nil, err
	}
	var total uint64
	if n := len(entries); n > 0 {
		total = entries[n-1].end
	}
	if remaining >= 0 && total != uint64(remaining)-8-hlen {
		return nil, nil, formatErr("header describes %d data bytes, the file holds %d", total, uint64(remaining)-8-hlen)
	}
	tensors := make([]Tensor[T], 0, len(entries))
	var chunk [32 << 10]byte
	for _, e := range entries {
		size := e.dtype.Size()
		n := int((e.end - e.begin) / uint64(size))
		data := make([]T, 0, min(n, len(chunk)/size))
		for left := int(e.end - e.begin); left > 0; {
			c := min(left, len(chunk))
			if _, err := io.ReadFull(r, chunk[:c]); err != nil {
				return nil, nil, formatErr("tensor %q: data truncated: %v", e.name, err)
			}
			data = decode(data, e.dtype, chunk[:c])
			left -= c
		}
		tensors = append(tensors, Tensor[T]{Name: e.name, Shape: e.shape, Data: data, DType: e.dtype})
	}
	if remaining < 0 {
		var b [1]byte
		if k, _ := io.ReadFull(r, b[:]); k != 0 {
			return nil, nil, formatErr("data continues past the %d bytes the header describes", total)
		}
	}
	return tensors, meta, nil
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// parseHeader decodes and checks the JSON header, returning the entries
// sorted by offset and the metadata.
func parseHeader(hdr []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(hdr) {
		return nil, nil, formatErr("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, formatErr("header is not a JSON object")
	}
	var entries []entry
	meta := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, formatErr("header: %v", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, nil, formatErr("header: key %q appears twice", name)
		}
		seen[name] = true
		if name == MetadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, formatErr("header: %s: %v", MetadataKey, err)
			}
			if meta == nil { // "__metadata__": null
				meta = map[string]string{}
			}
			continue
		}
		var h headerEntry
		if err := dec.Decode(&h); err != nil {
			return nil, nil, formatErr("tensor %q: %v", name, err)
		}
		e, err := checkEntry(name, h)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, formatErr("header: unterminated object")
	}
	if rest := bytes.TrimRight(hdr[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, nil, formatErr("header: %d bytes after the JSON object", len(rest))
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.begin < b.begin:
			return -1
		case a.begin > b.begin:
			return 1
		}
		return 0
	})
	var at uint64
	for _, e := range entries {
		if e.begin != at {
			return nil, nil, formatErr("tensor %q: data_offsets [%d,%d] leave a gap or overlap at byte %d", e.name, e.begin, e.end, at)
		}
		at = e.end
	}
	return entries, meta, nil
}

func checkEntry(name string, h headerEntry) (entry, error) {
	if name == "" {
		return entry{}, formatErr("empty tensor name")
	}
	size := h.DType.Size()
	if size == 0 {
		return entry{}, formatErr("tensor %q: unsupported dtype %q", name, h.DType)
	}
	if h.Shape == nil {
		return entry{}, formatErr("tensor %q: missing shape", name)
	}
	if len(h.DataOffsets) != 2 || h.DataOffsets[0] > h.DataOffsets[1] {
		return entry{}, formatErr("tensor %q: bad data_offsets %v", name, h.DataOffsets)
	}
	n, err := elements(name, h.Shape)
	if err != nil {
		return entry{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if n*uint64(size) != h.DataOffsets[1]-h.DataOffsets[0] {
		return entry{}, formatErr("tensor %q: shape %v of %s needs %d bytes, data_offsets %v give %d",
			name, h.Shape, h.DType, n*uint64(size), h.DataOffsets, h.DataOffsets[1]-h.DataOffsets[0])
	}
	return entry{name: name, dtype: h.DType, shape: h.Shape, begin: h.DataOffsets[0], end: h.DataOffsets[1]}, nil
}
