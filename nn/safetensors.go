package nn

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

// MaxHeaderBytes bounds the JSON header of a safetensors file that Load
// accepts (100 MB, as the reference implementation).
const MaxHeaderBytes = 100 << 20

// ErrFormat is wrapped by every error Load returns for content that is not
// a valid safetensors file.
var ErrFormat = errors.New("nn: invalid safetensors data")

const metadataKey = "__metadata__"

type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// Save writes sd and the string metadata meta to w in the safetensors
// format: an 8-byte little-endian header length, a JSON header (padded with
// spaces to a multiple of 8 bytes) mapping each name to its dtype, shape and
// byte range, and then every tensor's float32 data, little-endian, in name
// order. The metadata gets MetaVersion unless it has it; meta itself is not
// modified.
//
// It returns an error naming the key if a tensor is nil or a name is empty
// or reserved, and w's error if writing fails.
func Save(w io.Writer, sd State, meta map[string]string) error {
	keys := sd.Keys()
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	m := map[string]string{MetaVersion: FormatVersion}
	for k, v := range meta {
		m[k] = v
	}
	mb, err := json.Marshal(m) // sorted keys
	if err != nil {
		return fmt.Errorf("nn: Save: metadata: %w", err)
	}
	hdr.WriteString(`"` + metadataKey + `":`)
	hdr.Write(mb)
	var off uint64
	for _, k := range keys {
		t := sd[k]
		switch {
		case k == "" || k == metadataKey:
			return fmt.Errorf("nn: Save: invalid tensor name %q", k)
		case t == nil:
			return fmt.Errorf("nn: Save: tensor %q is nil", k)
		}
		kb, _ := json.Marshal(k)
		shape := t.Shape()
		if shape == nil {
			shape = []int{}
		}
		n := uint64(t.Len()) * 4
		eb, _ := json.Marshal(headerEntry{DType: "F32", Shape: shape, DataOffsets: []uint64{off, off + n}})
		off += n
		hdr.WriteByte(',')
		hdr.Write(kb)
		hdr.WriteByte(':')
		hdr.Write(eb)
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(hdr.Len()))
	bw.Write(lenb[:])
	bw.Write(hdr.Bytes())
	buf := make([]byte, 0, 32<<10)
	for _, k := range keys {
		d := sd[k].Data()
		for len(d) > 0 {
			n := min(len(d), cap(buf)/4)
			buf = buf[:0]
			for _, v := range d[:n] {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if _, err := bw.Write(buf); err != nil {
				return fmt.Errorf("nn: Save: %w", err)
			}
			d = d[n:]
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("nn: Save: %w", err)
	}
	return nil
}

// dtypeSize returns the byte size of the dtypes Load converts to float32.
func dtypeSize(dt string) int {
	switch dt {
	case "F32", "I32":
		return 4
	case "F64", "I64":
		return 8
	case "F16", "BF16":
		return 2
	}
	return 0
}

type loadEntry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// Load reads a safetensors stream written by Save, PyTorch or any other
// safetensors writer, returning its tensors and metadata. Tensors stored as
// F32 are read as is; F64, F16, BF16, I64 and I32 are converted to float32.
//
// Load trusts nothing in the header: it checks every shape against its byte
// range, that the ranges tile the data without gaps or overlaps, and, when r
// can tell its remaining length (*os.File, *bytes.Reader, *strings.Reader,
// *bytes.Buffer), that the file is exactly as long as the header says, before
// allocating any tensor. Otherwise memory grows only as data actually
// arrives, so a header claiming terabytes costs nothing. Errors for invalid
// content wrap ErrFormat and name the offending key.
func Load(r io.Reader) (State, map[string]string, error) {
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
	return load(r, remaining)
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

func load(r io.Reader, remaining int64) (State, map[string]string, error) {
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
	if v, ok := meta[MetaVersion]; ok && v != FormatVersion {
		return nil, nil, formatErr("gantry format version %q, this build reads %q", v, FormatVersion)
	}
	var total uint64
	if n := len(entries); n > 0 {
		total = entries[n-1].end
	}
	if remaining >= 0 && total != uint64(remaining)-8-hlen {
		return nil, nil, formatErr("header describes %d data bytes, the file holds %d", total, uint64(remaining)-8-hlen)
	}
	sd := make(State, len(entries))
	var chunk [32 << 10]byte
	for _, e := range entries {
		size := dtypeSize(e.dtype)
		n := int((e.end - e.begin) / uint64(size))
		data := make([]float32, 0, min(n, len(chunk)/size))
		for left := int(e.end - e.begin); left > 0; {
			c := min(left, len(chunk))
			if _, err := io.ReadFull(r, chunk[:c]); err != nil {
				return nil, nil, formatErr("tensor %q: data truncated: %v", e.name, err)
			}
			data = decode(data, e.dtype, chunk[:c])
			left -= c
		}
		if n == 0 {
			data = []float32{}
		}
		sd[e.name] = tensor.FromSlice(data, e.shape...)
	}
	if remaining < 0 {
		var b [1]byte
		if k, _ := io.ReadFull(r, b[:]); k != 0 {
			return nil, nil, formatErr("data continues past the %d bytes the header describes", total)
		}
	}
	return sd, meta, nil
}

// decode appends the values of raw, little-endian of type dt, as float32.
func decode(dst []float32, dt string, raw []byte) []float32 {
	le := binary.LittleEndian
	switch dt {
	case "F32":
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = append(dst, math.Float32frombits(le.Uint32(raw[i:])))
		}
	case "I32":
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = append(dst, float32(int32(le.Uint32(raw[i:]))))
		}
	case "F64":
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = append(dst, float32(math.Float64frombits(le.Uint64(raw[i:]))))
		}
	case "I64":
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = append(dst, float32(int64(le.Uint64(raw[i:]))))
		}
	case "BF16":
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = append(dst, math.Float32frombits(uint32(le.Uint16(raw[i:]))<<16))
		}
	case "F16":
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = append(dst, halfToFloat(le.Uint16(raw[i:])))
		}
	}
	return dst
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// parseHeader decodes and checks the JSON header, returning the entries
// sorted by offset and the metadata.
func parseHeader(hdr []byte) ([]loadEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, formatErr("header is not a JSON object")
	}
	var entries []loadEntry
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
		if name == metadataKey {
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				return nil, nil, formatErr("header: %s: %v", metadataKey, err)
			}
			for k, v := range m {
				meta[k] = v
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
	slices.SortFunc(entries, func(a, b loadEntry) int {
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

func checkEntry(name string, h headerEntry) (loadEntry, error) {
	if name == "" {
		return loadEntry{}, formatErr("empty tensor name")
	}
	size := dtypeSize(h.DType)
	if size == 0 {
		return loadEntry{}, formatErr("tensor %q: unsupported dtype %q", name, h.DType)
	}
	if h.Shape == nil {
		return loadEntry{}, formatErr("tensor %q: missing shape", name)
	}
	if len(h.DataOffsets) != 2 || h.DataOffsets[0] > h.DataOffsets[1] {
		return loadEntry{}, formatErr("tensor %q: bad data_offsets %v", name, h.DataOffsets)
	}
	n := uint64(1)
	for _, d := range h.Shape {
		if d < 0 {
			return loadEntry{}, formatErr("tensor %q: negative dimension in shape %v", name, h.Shape)
		}
		if d != 0 && n > math.MaxInt32/uint64(d) {
			return loadEntry{}, formatErr("tensor %q: shape %v is too large", name, h.Shape)
		}
		n *= uint64(d)
	}
	if n*uint64(size) != h.DataOffsets[1]-h.DataOffsets[0] {
		return loadEntry{}, formatErr("tensor %q: shape %v of %s needs %d bytes, data_offsets %v give %d",
			name, h.Shape, h.DType, n*uint64(size), h.DataOffsets, h.DataOffsets[1]-h.DataOffsets[0])
	}
	return loadEntry{name: name, dtype: h.DType, shape: h.Shape, begin: h.DataOffsets[0], end: h.DataOffsets[1]}, nil
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
