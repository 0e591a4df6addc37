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

// floatToHalf rounds a float32 to the nearest IEEE 754 binary16 value, ties
// to even; values beyond the largest half become infinities, NaN stays NaN.
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // infinity or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflows
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		h := uint32(exp-127+15)<<10 | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, up to infinity: still right
		}
		return sign | uint16(h)
	case exp-127 >= -25: // subnormal half (or rounds up to the smallest)
		m := man | 0x800000 // the implicit bit
		shift := uint(-(exp - 127) - 14 + 13)
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign // underflows to zero
}

// RoundHalf returns f rounded to the nearest binary16 value (ties to even),
// as a float32: the value a tensor stored as F16 reads back as.
func RoundHalf(f float32) float32 { return halfToFloat(floatToHalf(f)) }
