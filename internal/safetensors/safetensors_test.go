package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.NoError(t, Write(&buf, in, map[string]string{"n": "10"}))
	assert.Zero(t, binary.LittleEndian.Uint64(buf.Bytes())%8, "header length is a multiple of 8")
	out, meta, err := Read[float64](bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"n": "10"}, meta)
	require.Len(t, out, len(in))
	for i := range in {
		in[i].DType = F64
		assert.Equal(t, in[i], out[i])
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
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
		assert.Zero(t, buf.Len(), "%s: bytes written before failing", c.name)
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
		if assert.ErrorIs(t, err, ErrFormat, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
	}
}
