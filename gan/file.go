package gan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-go/gantry/internal/atomicfile"
	"github.com/gantry-go/gantry/internal/safetensors"
	"github.com/gantry-go/gantry/nn"
)

// Model is a GAN: its generator, its critic and, when training kept one, an
// exponential moving average of the generator's weights (EMA).
type Model struct {
	Config Config
	G      *Generator
	D      *Critic
	// EMA is the moving average of G's weights, or nil.
	EMA *Generator
}

// New returns a model for cfg with G and D initialised from r (G first), or
// an error listing every invalid field of cfg.
func New(cfg Config, r *rand.Rand) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	return &Model{Config: cfg, G: NewGenerator(cfg, r), D: NewCritic(cfg, r)}, nil
}

// Sampler returns the generator to sample from: the EMA if there is one,
// else G.
func (m *Model) Sampler() *Generator {
	if m.EMA != nil {
		return m.EMA
	}
	return m.G
}

// Names of the networks in a file's tensors: "g.input.weight",
// "d.blocks.0.conv1.weight", "g_ema.output.bias".
const (
	PrefixG   = "g."
	PrefixD   = "d."
	PrefixEMA = "g_ema."
)

// Metadata keys of gan files, beside nn.MetaVersion and nn.MetaConfig.
const (
	// MetaChecksum holds Checksum of the file's tensors, in hex.
	MetaChecksum = "gan.sha256"
	// MetaKind is "model" for Save, "checkpoint" for a trainer checkpoint.
	MetaKind = "gan.kind"
)

// StateDict returns the model's tensors under their file names (PrefixG,
// PrefixD, PrefixEMA). The tensors are the model's own, not copies.
func (m *Model) StateDict() nn.State {
	sd := nn.StateDict(m.G).AddPrefix(PrefixG)
	for k, v := range nn.StateDict(m.D).AddPrefix(PrefixD) {
		sd[k] = v
	}
	if m.EMA != nil {
		for k, v := range nn.StateDict(m.EMA).AddPrefix(PrefixEMA) {
			sd[k] = v
		}
	}
	return sd
}

// Checksum returns the SHA-256 of a state's tensors: over the names in
// sorted order, each name's bytes, a zero byte, the shape as decimal numbers
// joined by commas, a zero byte, and the values as little-endian float32.
func Checksum(sd nn.State) string {
	h := sha256.New()
	keys := make([]string, 0, len(sd))
	for k := range sd {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf := make([]byte, 0, 1<<16)
	for _, k := range keys {
		t := sd[k]
		dims := make([]string, t.Dims())
		for i, d := range t.Shape() {
			dims[i] = strconv.Itoa(d)
		}
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(strings.Join(dims, ",")))
		h.Write([]byte{0})
		for _, v := range t.Data() {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
		buf = buf[:0]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// encode returns the tensors and metadata of a gan file holding m: its
// tensors (StateDict), the config, the kind and the checksum, with extra
// tensors and metadata (a trainer's optimizer state, counters) beside them.
func encode(m *Model, kind string, extra nn.State, meta map[string]string) (nn.State, map[string]string, error) {
	sd := m.StateDict()
	for k, v := range extra {
		if _, dup := sd[k]; dup {
			return nil, nil, fmt.Errorf("tensor %q written twice", k)
		}
		sd[k] = v
	}
	md, err := metadata(m.Config, sd, kind, meta)
	return sd, md, err
}

// metadata returns the metadata of a gan file holding sd: meta plus the
// config, the kind and the checksum.
func metadata(cfg Config, sd nn.State, kind string, meta map[string]string) (map[string]string, error) {
	md := map[string]string{}
	for k, v := range meta {
		md[k] = v
	}
	if err := nn.SetConfig(md, cfg); err != nil {
		return nil, err
	}
	md[MetaKind] = kind
	md[MetaChecksum] = Checksum(sd)
	return md, nil
}

// Write writes m to w in the format of Save.
func Write(w io.Writer, m *Model) error {
	sd, md, err := encode(m, "model", nil, nil)
	if err != nil {
		return fmt.Errorf("gan: Write: %w", err)
	}
	return nn.Save(w, sd, md)
}

// Save writes m to a safetensors file at path, atomically (a failed write
// leaves a previous file intact): the tensors of G, D and the EMA if any
// (named PrefixG, PrefixD, PrefixEMA + each parameter's name), the config as
// JSON under nn.MetaConfig and a checksum of the tensors under MetaChecksum.
// Load rebuilds the model from the file alone.
func Save(path string, m *Model) error {
	sd, md, err := encode(m, "model", nil, nil)
	if err != nil {
		return fmt.Errorf("gan: Save %s: %w", path, err)
	}
	return nn.SaveFile(path, sd, md)
}

// SaveHalf writes m to path as Save does, but with every tensor stored as
// IEEE binary16 (F16), rounded to nearest: half the size, for shipping
// models. The checksum covers the rounded values, which Load reads back
// exactly. The values of m are not changed.
func SaveHalf(path string, m *Model) error {
	sd := nn.State{}
	for k, v := range m.StateDict() {
		c := v.Clone()
		d := c.Data()
		for i, x := range d {
			d[i] = safetensors.RoundHalf(x)
		}
		sd[k] = c
	}
	md, err := metadata(m.Config, sd, "model", map[string]string{nn.MetaVersion: nn.FormatVersion})
	if err != nil {
		return fmt.Errorf("gan: SaveHalf %s: %w", path, err)
	}
	names := sd.Keys()
	ts := make([]safetensors.Tensor[float32], len(names))
	for i, k := range names {
		ts[i] = safetensors.Tensor[float32]{Name: k, Shape: sd[k].Shape(), Data: sd[k].Data(), DType: safetensors.F16}
	}
	err = atomicfile.WriteFile(path, func(w io.Writer) error { return safetensors.Write(w, ts, md) })
	if err != nil {
		return fmt.Errorf("gan: SaveHalf %s: %w", path, err)
	}
	return nil
}

// Load reads a model written by Save, by a trainer checkpoint, or by the
// PyTorch twin of the architecture. It rebuilds G, D (and the EMA when
// present) from the config in the file, loads their tensors strictly and
// checks the checksum. Errors name the file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gan: Load: %w", err)
	}
	defer f.Close()
	m, _, _, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("gan: Load %s: %w", path, err)
	}
	return m, nil
}

// Read reads a model from r (see Load), for instance from an embedded file.
func Read(r io.Reader) (*Model, error) {
	m, _, _, err := read(r)
	if err != nil {
		return nil, fmt.Errorf("gan: Read: %w", err)
	}
	return m, nil
}

// ErrChecksum is wrapped by errors about a file whose tensors do not match
// their recorded checksum.
var ErrChecksum = errors.New("checksum mismatch")

// read decodes a model and returns the tensors and metadata that are not the
// model's (a checkpoint's trainer state).
func read(r io.Reader) (*Model, nn.State, map[string]string, error) {
	sd, meta, err := nn.Load(r)
	if err != nil {
		return nil, nil, nil, err
	}
	var cfg Config
	if err := nn.Config(meta, &cfg); err != nil {
		return nil, nil, nil, fmt.Errorf("no gan config in the file: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	cfg = cfg.WithDefaults()
	if want, ok := meta[MetaChecksum]; ok {
		if got := Checksum(sd); got != want {
			return nil, nil, nil, fmt.Errorf("%w: the tensors hash to %s, the file records %s (a damaged or edited file)", ErrChecksum, got[:12], want[:min(12, len(want))])
		}
	}
	m := &Model{Config: cfg, G: NewGenerator(cfg, nil), D: NewCritic(cfg, nil)}
	rest := nn.State{}
	hasEMA := false
	for k, v := range sd {
		switch {
		case strings.HasPrefix(k, PrefixEMA):
			hasEMA = true
		case strings.HasPrefix(k, PrefixG), strings.HasPrefix(k, PrefixD):
		default:
			rest[k] = v
		}
	}
	if hasEMA {
		m.EMA = NewGenerator(cfg, nil)
	}
	for _, part := range []struct {
		prefix string
		net    any
	}{{PrefixG, m.G}, {PrefixD, m.D}, {PrefixEMA, m.EMA}} {
		if part.net == (*Generator)(nil) {
			continue
		}
		if err := nn.LoadStateDict(part.net, sd.WithPrefix(part.prefix), nn.LoadOptions{}); err != nil {
			return nil, nil, nil, fmt.Errorf("%w for %s: %w", errArch, cfg, err)
		}
	}
	return m, rest, meta, nil
}

// cloneGenerator returns a deep copy of g.
func cloneGenerator(g *Generator) *Generator {
	c := NewGenerator(g.Config, nil)
	if err := nn.LoadStateDict(c, nn.StateDict(g), nn.LoadOptions{}); err != nil {
		panic("gan: cloneGenerator: " + err.Error())
	}
	return c
}
