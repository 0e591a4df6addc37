package nn

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"

	"github.com/gantry-go/gantry/internal/safetensors"
	"github.com/gantry-go/gantry/tensor"
)

// Checkpoint metadata keys that gantry reads and writes.
const (
	// MetaVersion holds the gantry file-format version, FormatVersion.
	// Save adds it when the metadata lacks it.
	MetaVersion = "gantry.version"
	// MetaConfig holds the architecture configuration as JSON, so a file
	// can rebuild its model (see SetConfig and Config).
	MetaConfig = "gantry.config"
	// FormatVersion is the version of the file layout this package writes.
	FormatVersion = "1"
)

// ErrFormat is wrapped by every error Load returns for content that is not
// a valid safetensors file.
var ErrFormat = safetensors.ErrFormat

// Save writes sd and the string metadata meta to w in the safetensors
// format: an 8-byte little-endian header length, a JSON header (padded with
// spaces to a multiple of 8 bytes) mapping each name to its dtype, shape and
// byte range, and then every tensor's float32 data, little-endian, in name
// order. The metadata gets MetaVersion unless it has it; meta itself is not
// modified.
//
// Save writes nothing that Load would refuse, and never writes a name other
// than the one given: it returns an error naming the key if a tensor is nil,
// a name is empty, reserved or not valid UTF-8, a shape is one Load rejects
// (more than 8 dimensions, more than 2^31-1 elements), or the metadata is not
// valid UTF-8; and w's error if writing fails.
func Save(w io.Writer, sd State, meta map[string]string) error {
	m := map[string]string{MetaVersion: FormatVersion}
	maps.Copy(m, meta)
	keys := sd.Keys()
	ts := make([]safetensors.Tensor[float32], len(keys))
	for i, k := range keys {
		t := sd[k]
		if t == nil {
			return fmt.Errorf("nn: Save: tensor %q is nil", k)
		}
		ts[i] = safetensors.Tensor[float32]{Name: k, Shape: t.Shape(), Data: t.Data()}
	}
	if err := safetensors.Write(w, ts, m); err != nil {
		return fmt.Errorf("nn: Save: %w", err)
	}
	return nil
}

// Load reads a safetensors stream written by Save, PyTorch or any other
// safetensors writer, returning its tensors and metadata. Tensors stored as
// F32 are read as is; F64, F16, BF16, I64 and I32 are converted to float32.
//
// Load trusts nothing in the header: it bounds the header's size and every
// shape's rank and element count, checks every shape against its byte range,
// that the ranges tile the data without gaps or overlaps, and, when r can
// tell its remaining length (*os.File, *bytes.Reader, *strings.Reader,
// *bytes.Buffer), that the file is exactly as long as the header says,
// before allocating any tensor. Otherwise memory grows only as data actually
// arrives, so a header claiming terabytes costs nothing. Errors for invalid
// content wrap ErrFormat and name the offending key.
func Load(r io.Reader) (State, map[string]string, error) {
	ts, meta, err := safetensors.Read[float32](r)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: Load: %w", err)
	}
	if v, ok := meta[MetaVersion]; ok && v != FormatVersion {
		return nil, nil, fmt.Errorf("nn: Load: %w: gantry format version %q, this build reads %q", ErrFormat, v, FormatVersion)
	}
	sd := make(State, len(ts))
	for _, t := range ts {
		sd[t.Name] = tensor.FromSlice(t.Data, t.Shape...)
	}
	return sd, meta, nil
}

// SetConfig stores cfg, encoded as JSON, in meta under MetaConfig.
func SetConfig(meta map[string]string, cfg any) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("nn: SetConfig: %w", err)
	}
	meta[MetaConfig] = string(b)
	return nil
}

// Config decodes the JSON under MetaConfig in meta into cfg.
func Config(meta map[string]string, cfg any) error {
	s, ok := meta[MetaConfig]
	if !ok {
		return fmt.Errorf("nn: Config: metadata has no %q", MetaConfig)
	}
	if err := json.Unmarshal([]byte(s), cfg); err != nil {
		return fmt.Errorf("nn: Config: %q: %w", MetaConfig, err)
	}
	return nil
}
