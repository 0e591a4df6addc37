package metrics

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/gantry-go/gantry/internal/atomicfile"
	"github.com/gantry-go/gantry/internal/safetensors"
)

// Stats files hold reference statistics (a dataset's feature mean and
// covariance, computed once) in the safetensors format with float64 data:
// "mu" [D] and "sigma" [D, D], the names of pytorch-fid's .npz statistics,
// and the metadata "extractor" (the features' name) and "n" (the number of
// vectors). Any safetensors reader opens them.

// statsFormat is the metadata "format" of the files Save writes.
const statsFormat = "gantry-stats-1"

// maxStatsDim bounds the feature dimension LoadStats accepts (sigma is
// D² float64s: 8 GB at this bound).
const maxStatsDim = 1 << 15

// Save writes s to w as a stats file. It returns an error if s holds fewer
// than two vectors (there is no covariance yet) or its extractor name is
// not valid UTF-8, and otherwise w's error.
func (s *Stats) Save(w io.Writer) error {
	if err := s.save(w); err != nil {
		return fmt.Errorf("metrics: Stats.Save: %w", err)
	}
	return nil
}

func (s *Stats) save(w io.Writer) error {
	if s.n < 2 {
		return fmt.Errorf("%d vectors; want at least 2 for a covariance", s.n)
	}
	sigma := s.Cov().RawSymmetric()
	data := make([]float64, 0, s.dim*s.dim)
	for i := range s.dim { // RawSymmetric fills the upper triangle only
		for j := range s.dim {
			data = append(data, sigma.Data[min(i, j)*sigma.Stride+max(i, j)])
		}
	}
	return safetensors.Write(w, []safetensors.Tensor[float64]{
		{Name: "mu", Shape: []int{s.dim}, Data: s.mean},
		{Name: "sigma", Shape: []int{s.dim, s.dim}, Data: data},
	}, map[string]string{"extractor": s.name, "n": strconv.Itoa(s.n), "format": statsFormat})
}

// SaveFile writes s to the stats file at path atomically: a temporary file
// in the same directory, synced, renamed over path, and the directory
// synced; the file is created 0644 (before the umask). On error, which
// names path, nothing is left behind and a previous file at path is intact.
func (s *Stats) SaveFile(path string) error {
	if err := atomicfile.WriteFile(path, s.save); err != nil {
		return fmt.Errorf("metrics: Stats.SaveFile %s: %w", path, err)
	}
	return nil
}

// LoadStats reads a stats file written by Save (or any safetensors file
// with float64 "mu" [D] and "sigma" [D, D] and the metadata "n"; a missing
// "extractor" gives the name ""). It refuses, with an error saying what is
// wrong, anything the safetensors codec refuses (duplicate keys, ranges
// that overlap, data past the end, ...), other tensors, other dtypes, values
// that are NaN or infinite, a sigma that is not symmetric or has a negative
// variance, and n below 2.
func LoadStats(r io.Reader) (*Stats, error) {
	s, err := loadStats(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: LoadStats: %w", err)
	}
	return s, nil
}

func loadStats(r io.Reader) (*Stats, error) {
	ts, meta, err := safetensors.Read[float64](r)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(meta["n"])
	if err != nil || n < 2 {
		return nil, fmt.Errorf("metadata n = %q; want a count of at least 2", meta["n"])
	}
	var mu, sigma *safetensors.Tensor[float64]
	for i := range ts {
		t := &ts[i]
		switch t.Name {
		case "mu":
			mu = t
		case "sigma":
			sigma = t
		default:
			return nil, fmt.Errorf("unexpected tensor %q; want only mu and sigma", t.Name)
		}
		if t.DType != safetensors.F64 {
			return nil, fmt.Errorf("tensor %q has dtype %s; want F64", t.Name, t.DType)
		}
		for j, v := range t.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("tensor %q: element %d is %v", t.Name, j, v)
			}
		}
	}
	switch {
	case mu == nil:
		return nil, fmt.Errorf("no tensor %q", "mu")
	case sigma == nil:
		return nil, fmt.Errorf("no tensor %q", "sigma")
	case len(mu.Shape) != 1 || mu.Shape[0] < 1 || mu.Shape[0] > maxStatsDim:
		return nil, fmt.Errorf("mu has shape %v; want [D], D from 1 to %d", mu.Shape, maxStatsDim)
	}
	d := mu.Shape[0]
	if len(sigma.Shape) != 2 || sigma.Shape[0] != d || sigma.Shape[1] != d {
		return nil, fmt.Errorf("sigma has shape %v; want [%d, %d]", sigma.Shape, d, d)
	}
	c := sigma.Data
	for i := range d {
		if c[i*d+i] < 0 {
			return nil, fmt.Errorf("sigma has a negative variance %v at [%d, %d]", c[i*d+i], i, i)
		}
		for j := range i {
			if c[i*d+j] != c[j*d+i] {
				return nil, fmt.Errorf("sigma is not symmetric at [%d, %d]", i, j)
			}
		}
	}
	return NewStatsFrom(meta["extractor"], mu.Data, mat.NewSymDense(d, c), n), nil
}

// LoadStatsFile reads the stats file at path (see LoadStats). Errors name
// the file.
func LoadStatsFile(path string) (*Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: LoadStatsFile: %w", err)
	}
	defer f.Close()
	s, err := loadStats(f)
	if err != nil {
		return nil, fmt.Errorf("metrics: LoadStatsFile %s: %w", path, err)
	}
	return s, nil
}
