package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gantry-go/gantry/tensor"
)

// IDX is an array of unsigned bytes in the IDX format of MNIST and
// Fashion-MNIST: a header of magic 0x00000803-style (zero, zero, element type
// 0x08, number of dimensions), big-endian uint32 dimensions, then the data in
// row-major order. Images are [N, H, W]; labels are [N].
type IDX struct {
	Dims []int
	Data []byte // len(Data) is the product of Dims
}

// maxIDXBytes bounds the data size an IDX header may declare (16 GiB).
const maxIDXBytes = 1 << 34

// ReadIDX reads an IDX array of unsigned bytes from r, which may be
// gzip-compressed (detected from its first bytes). It never allocates what the
// header declares before the data is there: memory grows with the bytes
// actually read, and a file holding fewer or more bytes than declared is an
// error wrapping ErrFormat. A header declaring more bytes than MaxMemory
// allows (the only option that applies) is refused with an error wrapping
// ErrTooLarge, so a small gzipped file cannot expand beyond that limit.
func ReadIDX(r io.Reader, opts ...Option) (*IDX, error) {
	cfg := newConfig(opts)
	return readIDX(r, -1, func(dims []int, n int64) error { return fitIDX(dims, n, 0, cfg.maxMemory) })
}

// fitIDX checks that an IDX array of dims (n bytes), plus what it becomes
// (extra bytes), fits in limit bytes.
func fitIDX(dims []int, n, extra, limit int64) error {
	if n > limit-extra {
		what := ""
		if extra > 0 {
			what = fmt.Sprintf(" and %d for the decoded images", extra)
		}
		return fmt.Errorf("%w: IDX array %v: %d bytes%s, over the limit of %d set by MaxMemory (raise it with data.MaxMemory(n))",
			ErrTooLarge, dims, n, what, limit)
	}
	return nil
}

// readIDX is ReadIDX knowing, when size >= 0, the uncompressed length of r.
// fit, given the declared dimensions and byte count, refuses an array
// before its data is read.
func readIDX(r io.Reader, size int64, fit func(dims []int, n int64) error) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br, size = bufio.NewReader(zr), -1
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("%w: IDX header: %v", ErrFormat, noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("%w: bad IDX magic % x", ErrFormat, head)
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("%w: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)", ErrFormat, head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 8 {
		return nil, fmt.Errorf("%w: IDX header declares %d dimensions", ErrFormat, nd)
	}
	dims := make([]int, nd)
	n := int64(1)
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("%w: IDX header: %v", ErrFormat, noEOF(err))
		}
		dims[i] = int(d)
		if d != 0 && n > maxIDXBytes/int64(d) {
			return nil, fmt.Errorf("%w: IDX header declares dimensions beyond %d bytes", ErrFormat, int64(maxIDXBytes))
		}
		n *= int64(d)
	}
	if n > maxIDXBytes {
		return nil, fmt.Errorf("%w: IDX header declares %d bytes", ErrFormat, n)
	}
	if err := fit(dims, n); err != nil {
		return nil, err
	}
	head64 := int64(4 + 4*nd)
	if size >= 0 && size-head64 != n {
		return nil, fmt.Errorf("%w: IDX header declares %v (%d bytes) but the file holds %d bytes of data", ErrFormat, dims, n, size-head64)
	}
	data, err := readData(br, n, size >= 0)
	if err != nil {
		return nil, fmt.Errorf("reading IDX data: %w", err)
	}
	if int64(len(data)) != n {
		return nil, fmt.Errorf("%w: IDX header declares %v (%d bytes) but the file holds only %d", ErrFormat, dims, n, len(data))
	}
	if size < 0 {
		// Reach the end of the stream (and of a gzip stream's checksum),
		// reading at most one byte more than declared.
		switch k, err := io.CopyN(io.Discard, br, 1); {
		case k > 0:
			return nil, fmt.Errorf("%w: IDX header declares %v (%d bytes) but the file holds more than %d", ErrFormat, dims, n, n)
		case err != io.EOF:
			return nil, fmt.Errorf("reading IDX data: %w", noEOF(err))
		}
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// readData reads up to n bytes from r. When the length is known to be n
// (exact), they are allocated at once; otherwise the buffer grows with the
// bytes that arrive, doubling but never past n, so a short stream costs
// what it holds and a whole one at most 1.5n at the last growth.
func readData(r io.Reader, n int64, exact bool) ([]byte, error) {
	c := min(n, 1<<16)
	if exact {
		c = n
	}
	buf := make([]byte, 0, c)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), n))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// WriteIDX writes a as an uncompressed IDX file of unsigned bytes (wrap w in a
// gzip.Writer to compress).
//
// It panics if len(a.Data) is not the product of a.Dims, a has no or more
// than 8 dimensions, or a dimension does not fit the format's 32 bits.
func WriteIDX(w io.Writer, a *IDX) error {
	n := int64(1)
	for _, d := range a.Dims {
		if d < 0 || int64(d) > math.MaxUint32 {
			panic(fmt.Sprintf("data: WriteIDX: dimension %d of %v does not fit in 32 bits", d, a.Dims))
		}
		if n > 0 && d != 0 && n > math.MaxInt64/int64(d) {
			n = -1 // more bytes than any slice holds, unless a later dimension is 0
		}
		if n > 0 || d == 0 {
			n *= int64(d)
		}
	}
	if n != int64(len(a.Data)) || len(a.Dims) < 1 || len(a.Dims) > 8 {
		panic(fmt.Sprintf("data: WriteIDX: %d bytes for dimensions %v", len(a.Data), a.Dims))
	}
	head := []byte{0, 0, 0x08, byte(len(a.Dims))}
	for _, d := range a.Dims {
		head = binary.BigEndian.AppendUint32(head, uint32(d))
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	_, err := w.Write(a.Data)
	return err
}

// LoadIDX reads an images file and, unless labelsPath is "", a labels file in
// IDX format (gzipped or not) and converts them as FromIDX does. The files'
// bytes and the decoded images must fit in MaxMemory; this is checked from
// the headers, before their data is read. Errors are *FileError naming the
// file.
func LoadIDX(imagesPath, labelsPath string, opts ...Option) (*Memory, error) {
	cfg := newConfig(opts)
	if cfg.channels == 0 {
		cfg.channels = 1
	}
	limit := cfg.maxMemory
	images, err := readIDXFile(imagesPath, func(dims []int, n int64) error {
		out := int64(0)
		if len(dims) == 3 {
			out = idxOutBytes(&cfg, dims)
		}
		return fitIDX(dims, n, out, limit)
	})
	if err != nil {
		return nil, err
	}
	var labels *IDX
	if labelsPath != "" {
		used := int64(len(images.Data)) + idxOutBytes(&cfg, images.Dims)
		if labels, err = readIDXFile(labelsPath, func(dims []int, n int64) error { return fitIDX(dims, n, used, limit) }); err != nil {
			return nil, err
		}
	}
	m, err := FromIDX(images, labels, opts...)
	if err != nil {
		return nil, &FileError{imagesPath, err}
	}
	return m, nil
}

// idxOutBytes returns the bytes FromIDX allocates for images of dims [N, H,
// W] (0 for other dims).
func idxOutBytes(cfg *config, dims []int) int64 {
	if len(dims) != 3 {
		return 0
	}
	probe := &converter{cfg: cfg}
	_, w, h := probe.outSize(image.Rect(0, 0, dims[2], dims[1]))
	return 4 * int64(dims[0]) * int64(cfg.channels) * int64(w) * int64(h)
}

func readIDXFile(path string, fit func(dims []int, n int64) error) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{path, unwrapPath(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &FileError{path, unwrapPath(err)}
	}
	a, err := readIDX(f, st.Size(), fit)
	if err != nil {
		return nil, &FileError{path, err}
	}
	return a, nil
}

// FromIDX converts IDX arrays to a dataset: images [N, H, W] become
// grayscale [1, H, W] tensors (RGB makes them three-channel; Resolution,
// CenterCrop and Filter resize them; the other options do not apply); labels,
// [N] or nil for an unlabeled dataset, become the labels. The dataset has no
// class names. The images it makes, with the arrays' bytes, must fit in
// MaxMemory.
func FromIDX(images, labels *IDX, opts ...Option) (*Memory, error) {
	cfg := newConfig(opts)
	if cfg.channels == 0 {
		cfg.channels = 1
	}
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%w: IDX images have dimensions %v; want [N, H, W]", ErrFormat, images.Dims)
	}
	n, h0, w0 := images.Dims[0], images.Dims[1], images.Dims[2]
	if n <= 0 || h0 <= 0 || w0 <= 0 {
		return nil, fmt.Errorf("%w: IDX images have dimensions %v", ErrEmpty, images.Dims)
	}
	if int64(len(images.Data))/int64(n) != int64(h0)*int64(w0) || len(images.Data)%n != 0 {
		return nil, fmt.Errorf("%w: %d bytes for IDX images of dimensions %v", ErrFormat, len(images.Data), images.Dims)
	}
	have := int64(len(images.Data))
	if labels != nil {
		have += int64(len(labels.Data))
	}
	if err := fitIDX(images.Dims, have, idxOutBytes(&cfg, images.Dims), cfg.maxMemory); err != nil {
		return nil, err
	}
	var lab []int
	if labels != nil {
		if len(labels.Dims) != 1 || labels.Dims[0] != n || len(labels.Data) != n {
			return nil, fmt.Errorf("%w: IDX labels have dimensions %v for %d images", ErrFormat, labels.Dims, n)
		}
		lab = make([]int, n)
		for i, v := range labels.Data {
			lab[i] = int(v)
		}
	}
	probe := &converter{cfg: &cfg}
	_, w, h := probe.outSize(image.Rect(0, 0, w0, h0))
	per := cfg.channels * w * h
	buf := make([]float32, n*per)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(cfg.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cv := &converter{cfg: &cfg}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				src := &image.Gray{Pix: images.Data[i*h0*w0 : (i+1)*h0*w0], Stride: w0, Rect: image.Rect(0, 0, w0, h0)}
				r, _, _ := cv.outSize(src.Rect)
				cv.put(buf[i*per:(i+1)*per], src, r, w, h, cfg.channels)
			}
		}()
	}
	wg.Wait()
	return FromTensor(tensor.FromSlice(buf, n, cfg.channels, h, w), lab, nil), nil
}
