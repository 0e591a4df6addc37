package metrics

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/gonum/mat"
)

// Stats files hold reference statistics (a dataset's feature mean and
// covariance, computed once) in the safetensors format with float64 data:
// "mu" [D] and "sigma" [D, D], the names of pytorch-fid's .npz statistics,
// and the metadata "extractor" (the features' name) and "n" (the number of
// vectors). Any safetensors reader opens them.

const statsMaxHeader = 1 << 20

type statsEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Save writes s to w as a stats file. It returns w's error.
//
// It panics if s holds fewer than two vectors.
func (s *Stats) Save(w io.Writer) error {
	cov := s.Cov()
	d := int64(s.dim)
	hdr := map[string]any{
		"__metadata__": map[string]string{"extractor": s.name, "n": strconv.Itoa(s.n), "format": "gantry-stats-1"},
		"mu":           statsEntry{DType: "F64", Shape: []int{s.dim}, DataOffsets: [2]int64{0, 8 * d}},
		"sigma":        statsEntry{DType: "F64", Shape: []int{s.dim, s.dim}, DataOffsets: [2]int64{8 * d, 8 * (d + d*d)}},
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	bw := bufio.NewWriter(w)
	var b8 [8]byte
	binary.LittleEndian.PutUint64(b8[:], uint64(len(h)))
	bw.Write(b8[:])
	bw.Write(h)
	put := func(v float64) {
		binary.LittleEndian.PutUint64(b8[:], math.Float64bits(v))
		bw.Write(b8[:])
	}
	for _, v := range s.mean {
		put(v)
	}
	for i := range s.dim {
		for j := range s.dim {
			put(cov.At(i, j))
		}
	}
	return bw.Flush()
}

// SaveFile writes s to the stats file at path atomically (a temporary file
// in the same directory, synced and renamed over path).
func (s *Stats) SaveFile(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".stats-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = s.Save(f); err != nil {
		return fmt.Errorf("metrics: Stats.SaveFile: %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// LoadStats reads a stats file written by Save (or any safetensors file
// with float64 "mu" [D] and "sigma" [D, D] and the metadata "n"; a missing
// "extractor" gives the name ""). Its errors say what is wrong with the data.
func LoadStats(r io.Reader) (*Stats, error) {
	fail := func(format string, a ...any) (*Stats, error) {
		return nil, fmt.Errorf("metrics: LoadStats: "+format, a...)
	}
	var b8 [8]byte
	if _, err := io.ReadFull(r, b8[:]); err != nil {
		return fail("header length: %w", err)
	}
	hl := binary.LittleEndian.Uint64(b8[:])
	if hl == 0 || hl > statsMaxHeader {
		return fail("header of %d bytes", hl)
	}
	h := make([]byte, hl)
	if _, err := io.ReadFull(r, h); err != nil {
		return fail("header: %w", err)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(h, &hdr); err != nil {
		return fail("header: %w", err)
	}
	var meta map[string]string
	if m, ok := hdr["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return fail("metadata: %w", err)
		}
	}
	n, err := strconv.Atoi(meta["n"])
	if err != nil || n < 2 {
		return fail("metadata n = %q; want a count of at least 2", meta["n"])
	}
	var mu, sigma statsEntry
	for name, e := range map[string]*statsEntry{"mu": &mu, "sigma": &sigma} {
		raw, ok := hdr[name]
		if !ok {
			return fail("no tensor %q", name)
		}
		if err := json.Unmarshal(raw, e); err != nil {
			return fail("tensor %q: %w", name, err)
		}
		if e.DType != "F64" {
			return fail("tensor %q has dtype %s; want F64", name, e.DType)
		}
	}
	if len(mu.Shape) != 1 || mu.Shape[0] < 1 || mu.Shape[0] > 1<<15 {
		return fail("mu has shape %v; want [D], D at most 32768", mu.Shape)
	}
	d := mu.Shape[0]
	if len(sigma.Shape) != 2 || sigma.Shape[0] != d || sigma.Shape[1] != d {
		return fail("sigma has shape %v; want [%d, %d]", sigma.Shape, d, d)
	}
	// Read the data section up to the end of the later tensor.
	end := max(mu.DataOffsets[1], sigma.DataOffsets[1])
	for name, e := range map[string]statsEntry{"mu": mu, "sigma": sigma} {
		size := int64(8)
		for _, x := range e.Shape {
			size *= int64(x)
		}
		if e.DataOffsets[0] < 0 || e.DataOffsets[1]-e.DataOffsets[0] != size {
			return fail("tensor %q has byte range %v for %d bytes", name, e.DataOffsets, size)
		}
	}
	// Grow the buffer as data arrives rather than trusting the header's size.
	buf, err := io.ReadAll(io.LimitReader(r, end))
	if err != nil {
		return fail("data: %w", err)
	}
	if int64(len(buf)) != end {
		return fail("data: %d of %d bytes", len(buf), end)
	}
	read := func(e statsEntry) []float64 {
		b := buf[e.DataOffsets[0]:e.DataOffsets[1]]
		v := make([]float64, len(b)/8)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return v
	}
	m, c := read(mu), read(sigma)
	for i := range d {
		for j := range i {
			if c[i*d+j] != c[j*d+i] {
				return fail("sigma is not symmetric at [%d, %d]", i, j)
			}
		}
	}
	return NewStatsFrom(meta["extractor"], m, mat.NewSymDense(d, c), n), nil
}

// LoadStatsFile reads the stats file at path (see LoadStats). Errors name
// the file.
func LoadStatsFile(path string) (*Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := LoadStats(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
