package cli

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/gantry-go/gantry/internal/atomicfile"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/tensor"
)

// Protocol is what a metric value was computed on: without it a number is
// not comparable with another (clean-fid and torch-fidelity record theirs
// the same way).
type Protocol struct {
	// Extractor names the feature network and Fingerprint identifies its
	// weights: the first 16 hex digits of the SHA-256 of its features of a
	// fixed probe batch, so two extractors with the same name but other
	// weights differ. Empty for IW, which uses no features.
	Extractor   string `json:"extractor,omitempty"`
	Fingerprint string `json:"extractor_fingerprint,omitempty"`
	// Real names the real images and NReal, NFake count the images on each
	// side (for IW: evaluation images and samples).
	Real  string `json:"real"`
	NReal int    `json:"n_real"`
	NFake int    `json:"n_fake"`
	// Resize is how the real images were brought to the model's size.
	Resize string `json:"resize"`
	// Covariance is FID's covariance estimator.
	Covariance string `json:"covariance,omitempty"`
	// KIDSubsets and KIDSubsetSize describe KID's averaging; K is the
	// neighbourhood of precision and recall; IWSteps the critic updates of
	// IW.
	KIDSubsets    int `json:"kid_subsets,omitempty"`
	KIDSubsetSize int `json:"kid_subset_size,omitempty"`
	K             int `json:"k,omitempty"`
	IWSteps       int `json:"iw_steps,omitempty"`
	// Seed drives the samples and KID's subsets.
	Seed uint64 `json:"seed"`
}

// covariance is FID's estimator in package metrics (Stats): the unbiased
// sample covariance, accumulated in float64.
const covariance = "unbiased sample covariance (n-1), float64"

// Measured is a metric value with its protocol.
type Measured struct {
	Metric   string   `json:"metric"`
	Value    jfloat   `json:"value"`
	Std      jfloat   `json:"std,omitempty"`
	Protocol Protocol `json:"protocol"`
}

// jfloat is a float64 whose NaN and infinities are JSON null.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 64), nil
}

// measure wraps a metrics.Result whose first set was the real images.
func measure(r metrics.Result, base Protocol) Measured {
	p := base
	p.NReal, p.NFake = r.N1, r.N2
	switch r.Metric {
	case "FID":
		p.Covariance = covariance
	case "KID":
		p.KIDSubsets, p.KIDSubsetSize = r.Subsets, r.SubsetSize
	case "precision", "recall":
		p.K = r.K
	case "IW":
		p.Extractor, p.Fingerprint = "", ""
		p.IWSteps = r.Steps
	}
	return Measured{Metric: r.Metric, Value: jfloat(r.Value), Std: jfloat(r.Std), Protocol: p}
}

// String prints the value and its whole protocol on one line:
//
//	FID = 41.23 [gantry-gray 1a2b3c4d5e6f7a8b; real shipped:fashion-eval n=1000; fake n=1000; bilinear to 32x32; unbiased sample covariance (n-1), float64; seed 1]
func (m Measured) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s = %s", m.Metric, formatValue(m.Metric, float64(m.Value)))
	if m.Metric == "KID" {
		fmt.Fprintf(&b, " ± %s", formatValue(m.Metric, float64(m.Std)))
	}
	b.WriteString(" [")
	b.WriteString(m.Protocol.String())
	b.WriteString("]")
	return b.String()
}

// String prints the protocol as "; "-separated parts.
func (p Protocol) String() string {
	var parts []string
	if p.Extractor != "" {
		parts = append(parts, fmt.Sprintf("features %s (weights %s)", p.Extractor, p.Fingerprint))
	} else {
		parts = append(parts, "no features (a fresh critic)")
	}
	parts = append(parts, fmt.Sprintf("real %s n=%d", p.Real, p.NReal), fmt.Sprintf("fake n=%d", p.NFake))
	if p.Resize != "" {
		parts = append(parts, p.Resize)
	}
	if p.Covariance != "" {
		parts = append(parts, p.Covariance)
	}
	if p.KIDSubsets > 0 {
		parts = append(parts, fmt.Sprintf("KID %d subsets of %d", p.KIDSubsets, p.KIDSubsetSize))
	}
	if p.K > 0 {
		parts = append(parts, fmt.Sprintf("k=%d", p.K))
	}
	if p.IWSteps > 0 {
		parts = append(parts, fmt.Sprintf("IW critic %d steps", p.IWSteps))
	}
	parts = append(parts, fmt.Sprintf("seed %d", p.Seed))
	return strings.Join(parts, "; ")
}

func formatValue(metric string, v float64) string {
	switch metric {
	case "KID":
		return strconv.FormatFloat(v, 'f', 5, 64)
	case "precision", "recall":
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

var fingerprints sync.Map // extractor -> string

// fingerprint identifies an extractor's weights by its features of a fixed
// probe batch: four 32×32 images (gray, or RGB for an extractor that wants
// three channels) of smooth deterministic patterns.
func fingerprint(ext metrics.Extractor, channels int) string {
	key := fmt.Sprintf("%s/%d", ext.Name(), channels)
	if v, ok := fingerprints.Load(key); ok {
		return v.(string)
	}
	const n, side = 4, 32
	probe := tensor.New(n, channels, side, side)
	d := probe.Data()
	for i := range d {
		d[i] = float32(math.Sin(float64(i) * 0.0137))
	}
	f := ext.Features(probe)
	h := sha256.New()
	var buf [4]byte
	for _, v := range f.Data() {
		binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
		h.Write(buf[:])
	}
	s := hex.EncodeToString(h.Sum(nil))[:16]
	fingerprints.Store(key, s)
	return s
}

// ProtocolFile holds, in a run folder, the protocol of the evaluations
// during training, which metric-*.jsonl lines do not repeat in full.
const ProtocolFile = "protocol.json"

// writeProtocol writes the evaluation protocol of a run (nothing when the
// run has no evaluation).
func writeProtocol(dir string, ev *gan.Eval, base Protocol) error {
	if ev == nil {
		return nil
	}
	p := base
	p.NReal, p.NFake = ev.Real.Len(), ev.Samples
	p.Covariance = covariance
	p.KIDSubsets, p.KIDSubsetSize = 100, min(1000, p.NReal, p.NFake)
	if ev.KID.Subsets > 0 {
		p.KIDSubsets = ev.KID.Subsets
	}
	if ev.KID.SubsetSize > 0 {
		p.KIDSubsetSize = min(ev.KID.SubsetSize, p.NReal, p.NFake)
	}
	b, err := json.MarshalIndent(map[string]any{"metrics": ev.Metrics, "every": ev.Every, "protocol": p,
		"note": "the samples of the evaluation after iteration i are drawn with seed xor i"}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ProtocolFile), append(b, '\n'))
}
