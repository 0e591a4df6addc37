package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func craft(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestRoundTripFloat64(t *testing.T) {
	in := []Tensor[float64]{
		{Name: "mu", Shape: []int{3}, Data: []float64{1, math.Pi, -1e-300}},
		{Name: "sigma", Shape: []int{1, 1}, Data: []float64{2}},
		{Name: "scalar", Shape: []int{}, Data: []float64{7}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float64{}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, in, map[string]string{"n": "10"}); err != nil {
		t.Fatal(err)
	}
	if hl := binary.LittleEndian.Uint64(buf.Bytes()); hl%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", hl)
	}
	out, meta, err := Read[float64](bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if meta["n"] != "10" || len(out) != len(in) {
		t.Fatalf("Read = %d tensors, metadata %v", len(out), meta)
	}
	for i := range in {
		o := out[i]
		if o.Name != in[i].Name || !slices.Equal(o.Shape, in[i].Shape) || !slices.Equal(o.Data, in[i].Data) || o.DType != F64 {
			t.Errorf("tensor %d = %+v; want %+v stored as F64", i, o, in[i])
		}
	}
}

func TestWriteRefusesWhatReadRefuses(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor[float32]
		meta map[string]string
		want string
	}{
		{"non-UTF-8 name", []Tensor[float32]{{Name: "w\xff", Shape: []int{1}, Data: []float32{1}}}, nil, `"w\xff"`},
		{"empty name", []Tensor[float32]{{Name: "", Shape: []int{1}, Data: []float32{1}}}, nil, `""`},
		{"reserved name", []Tensor[float32]{{Name: MetadataKey, Shape: []int{}, Data: []float32{1}}}, nil, MetadataKey},
		{"twice", []Tensor[float32]{{Name: "a", Shape: []int{}, Data: []float32{1}}, {Name: "a", Shape: []int{}, Data: []float32{1}}}, nil, `"a" appears twice`},
		{"rank", []Tensor[float32]{{Name: "deep", Shape: make([]int, MaxRank+1), Data: nil}}, nil, `"deep": shape of rank 9`},
		{"short data", []Tensor[float32]{{Name: "s", Shape: []int{2, 2}, Data: []float32{1}}}, nil, `"s": 1 values`},
		{"negative", []Tensor[float32]{{Name: "n", Shape: []int{-1}, Data: nil}}, nil, `"n": negative`},
		{"non-UTF-8 metadata", nil, map[string]string{"k": "\xfe"}, `metadata "k"`},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.ts, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Write = %v; want an error containing %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Write wrote %d bytes before failing", c.name, buf.Len())
		}
	}
}

func TestReadRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"header over the bound", binary.LittleEndian.AppendUint64(nil, MaxHeaderBytes+8), "exceeds"},
		{"rank", craft(`{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}`, make([]byte, 4)), "rank 9"},
		{"overflow behind a zero", craft(`{"a":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}`, nil), "too large"},
		{"not UTF-8", craft("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", make([]byte, 4)), "UTF-8"},
		{"duplicate metadata", craft(`{"__metadata__":{},"__metadata__":{}}`, nil), "twice"},
	}
	for _, c := range cases {
		_, _, err := Read[float32](bytes.NewReader(c.in))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Read = %v; want ErrFormat mentioning %q", c.name, err, c.want)
		}
	}
}

// floatToHalf gives the nearest binary16 value, ties to even: every half
// survives a round trip, and a float32 lands on one of its two neighbours,
// the nearer (or the even one at a tie).
func TestFloatToHalf(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat(uint16(h))
		if f != f { // NaN
			if g := halfToFloat(floatToHalf(f)); g == g {
				t.Fatalf("NaN half %#04x came back as %v", h, g)
			}
			continue
		}
		if back := floatToHalf(f); back != uint16(h) && !(f == 0 && back&0x7fff == 0) {
			t.Fatalf("half %#04x = %v came back as %#04x", h, f, back)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		f := float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-25)))
		h := floatToHalf(f)
		g := halfToFloat(h)
		// The neighbouring halves in the direction of f.
		next := halfToFloat(h + 1)
		prev := halfToFloat(h - 1)
		d := math.Abs(float64(f) - float64(g))
		for _, n := range []float32{next, prev} {
			if n != n || math.IsInf(float64(n), 0) || (h&0x7fff) == 0 {
				continue
			}
			if dn := math.Abs(float64(f) - float64(n)); dn < d || (dn == d && h&1 == 1) {
				t.Fatalf("%v rounded to %v (%#04x), but %v is nearer or even", f, g, h, n)
			}
		}
	}
	for _, tc := range []struct {
		f    float32
		want uint16
	}{{65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00}, {-1e9, 0xfc00}, {5.9604645e-08, 0x0001}, {2e-8, 0}, {1, 0x3c00}} {
		if got := floatToHalf(tc.f); got != tc.want {
			t.Errorf("floatToHalf(%v) = %#04x; want %#04x", tc.f, got, tc.want)
		}
	}
}

func TestWriteF16(t *testing.T) {
	var buf bytes.Buffer
	in := []Tensor[float32]{{Name: "w", Shape: []int{3}, Data: []float32{1, 0.1, -2.5}, DType: F16}, {Name: "x", Shape: []int{1}, Data: []float32{0.1}}}
	if err := Write(&buf, in, nil); err != nil {
		t.Fatal(err)
	}
	out, _, err := Read[float32](&buf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Tensor[float32]{}
	for _, x := range out {
		got[x.Name] = x
	}
	if got["w"].DType != F16 || got["x"].DType != F32 {
		t.Fatalf("dtypes %v %v; want F16 F32", got["w"].DType, got["x"].DType)
	}
	if w := got["w"].Data; w[0] != 1 || w[1] != halfToFloat(floatToHalf(0.1)) || w[2] != -2.5 {
		t.Errorf("F16 values %v", w)
	}
	if got["x"].Data[0] != 0.1 {
		t.Errorf("F32 value %v", got["x"].Data[0])
	}
}
