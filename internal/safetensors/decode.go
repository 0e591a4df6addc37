package safetensors

import (
	"encoding/binary"
	"math"
)

// decode appends the values of raw, little-endian elements of type dt, to
// dst converted to T.
func decode[T Float](dst []T, dt DType, raw []byte) []T {
	le := binary.LittleEndian
	switch dt {
	case F32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = append(dst, T(math.Float32frombits(le.Uint32(raw[i:]))))
		}
	case I32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = append(dst, T(int32(le.Uint32(raw[i:]))))
		}
	case F64:
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = append(dst, T(math.Float64frombits(le.Uint64(raw[i:]))))
		}
	case I64:
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = append(dst, T(int64(le.Uint64(raw[i:]))))
		}
	case BF16:
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = append(dst, T(math.Float32frombits(uint32(le.Uint16(raw[i:]))<<16)))
		}
	case F16:
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = append(dst, T(halfToFloat(le.Uint16(raw[i:]))))
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
