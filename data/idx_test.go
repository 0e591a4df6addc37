package data

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func idxBytes(t *testing.T, a *IDX, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if !gz {
		require.NoError(t, WriteIDX(&buf, a))
		return buf.Bytes()
	}
	zw := gzip.NewWriter(&buf)
	require.NoError(t, WriteIDX(zw, a))
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestIDXRoundTrip(t *testing.T) {
	a := &IDX{Dims: []int{2, 3, 4}, Data: make([]byte, 24)}
	for i := range a.Data {
		a.Data[i] = byte(i * 10)
	}
	for _, gz := range []bool{false, true} {
		got, err := ReadIDX(bytes.NewReader(idxBytes(t, a, gz)))
		require.NoError(t, err, "gz=%v", gz)
		assert.Equal(t, a, got, "gz=%v", gz)
	}
}

func TestIDXCorrupt(t *testing.T) {
	good := idxBytes(t, &IDX{Dims: []int{2, 2, 2}, Data: make([]byte, 8)}, false)
	huge := []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	big := []byte{0, 0, 8, 1, 0x40, 0, 0, 0, 1, 2, 3} // declares 1 GiB, holds 3 bytes
	gzGood := gzipped(t, good)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "IDX header"},
		{"short header", []byte{0, 0, 8}, "IDX header"},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 0}, "magic"},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 0}, "0x0d"},
		{"zero dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"short dims", []byte{0, 0, 8, 3, 0, 0, 0, 2}, "IDX header"},
		{"huge dims", huge, "beyond"},
		{"truncated", good[:len(good)-1], "holds only 7"},
		{"trailing", append(slices.Clone(good), 9), "holds more than 8"},
		{"gz declares 1 GiB", gzipped(t, big), "holds only 3"},
		{"gz truncated", gzGood[:len(gzGood)-6], "unexpected EOF"},
		{"gz bad checksum", append(slices.Clone(gzGood[:len(gzGood)-8]), 1, 2, 3, 4, 5, 6, 7, 8), "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadIDX(bytes.NewReader(tc.b))
			runtime.ReadMemStats(&after)
			assert.ErrorContains(t, err, tc.want)
			assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated for a bad header")
		})
	}
}

func TestLoadIDXFile(t *testing.T) {
	dir := t.TempDir()
	imgs := &IDX{Dims: []int{3, 2, 2}, Data: []byte{0, 255, 0, 255, 10, 20, 30, 40, 255, 255, 255, 255}}
	labs := &IDX{Dims: []int{3}, Data: []byte{7, 0, 9}}
	ip, lp := filepath.Join(dir, "img.gz"), filepath.Join(dir, "lab")
	writeFile(t, ip, idxBytes(t, imgs, true))
	writeFile(t, lp, idxBytes(t, labs, false))
	m, err := LoadIDX(ip, lp)
	require.NoError(t, err)
	require.Equal(t, []int{3, 1, 2, 2}, m.Images().Shape())
	require.Equal(t, []int{7, 0, 9}, m.Labels())
	assert.Equal(t, []float32{-1, 1, -1, 1}, m.Image(0).Data(), "image 0")
	// Unlabeled, RGB, resized.
	m, err = LoadIDX(ip, "", RGB(), Resolution(3))
	require.NoError(t, err)
	require.Equal(t, []int{3, 3, 3, 3}, m.Images().Shape())
	require.Equal(t, -1, m.Label(2), "unlabeled")
	for _, v := range m.Image(2).Data() {
		require.Equal(t, float32(1), v, "white image resized to %v", m.Image(2).Data())
	}
	// An uncompressed file whose size disagrees with its header is refused
	// from the header, naming the file.
	short := filepath.Join(dir, "short")
	writeFile(t, short, idxBytes(t, imgs, false)[:20])
	_, err = LoadIDX(short, "")
	assert.ErrorIs(t, err, ErrFormat, "short file")
	assert.ErrorContains(t, err, short, "short file")
	assert.ErrorContains(t, err, "file holds 4 bytes", "short file")
	// Labels that do not match the images.
	bad := filepath.Join(dir, "bad")
	writeFile(t, bad, idxBytes(t, &IDX{Dims: []int{2}, Data: []byte{1, 2}}, false))
	_, err = LoadIDX(ip, bad)
	assert.ErrorIs(t, err, ErrFormat, "mismatched labels")
	assert.ErrorContains(t, err, ip, "mismatched labels")
	_, err = LoadIDX(filepath.Join(dir, "missing"), "")
	assert.ErrorIs(t, err, os.ErrNotExist, "missing")
	// Labels given as images: wrong rank.
	_, err = LoadIDX(lp, "")
	assert.ErrorIs(t, err, ErrFormat, "labels as images")
}

// TestIDXMaxMemory: what a header declares, with what it decodes to, must
// fit in MaxMemory; a small gzipped file declaring a large array is refused
// before it expands.
func TestIDXMaxMemory(t *testing.T) {
	dir := t.TempDir()
	imgs := &IDX{Dims: []int{3, 2, 2}, Data: make([]byte, 12)}
	labs := &IDX{Dims: []int{3}, Data: []byte{1, 2, 3}}
	ip, lp := filepath.Join(dir, "img.gz"), filepath.Join(dir, "lab")
	writeFile(t, ip, idxBytes(t, imgs, true))
	writeFile(t, lp, idxBytes(t, labs, false))
	bomb := idxBytes(t, &IDX{Dims: []int{1 << 26}, Data: make([]byte, 1<<26)}, true) // 64 MiB of zeros in ~64 KB
	cases := []struct {
		name string
		load func() error
		want string // "" for success
	}{
		{"read fits", func() error { _, err := ReadIDX(bytes.NewReader(bomb)); return err }, ""},
		{"read bomb", func() error { _, err := ReadIDX(bytes.NewReader(bomb), MaxMemory(1<<20)); return err }, "IDX array [67108864]: 67108864 bytes, over the limit of 1048576 set by MaxMemory"},
		{"load fits", func() error { _, err := LoadIDX(ip, lp, MaxMemory(12+3*4*4+3)); return err }, ""},
		{"load images", func() error { _, err := LoadIDX(ip, lp, MaxMemory(12+3*4*4-1)); return err }, "12 bytes and 48 for the decoded images, over the limit of 59"},
		{"load labels", func() error { _, err := LoadIDX(ip, lp, MaxMemory(12+3*4*4+2)); return err }, "IDX array [3]: 3 bytes and 60 for the decoded images, over the limit of 62"},
		{"load resized", func() error { _, err := LoadIDX(ip, "", RGB(), Resolution(1000), MaxMemory(1<<20)); return err }, "12 bytes and 36000000 for the decoded images"},
		{"from arrays", func() error { _, err := FromIDX(imgs, nil, Resolution(1000), MaxMemory(1<<20)); return err }, "12 bytes and 12000000 for the decoded images"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := c.load()
			runtime.ReadMemStats(&after)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrTooLarge)
			assert.ErrorContains(t, err, c.want)
			assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated before refusing")
		})
	}
}

// TestIDXReadAllocations: a file whose size is known is read into one
// buffer of the declared size; a gzip stream's buffer doubles up to the
// declared size, never past it.
func TestIDXReadAllocations(t *testing.T) {
	const n = 1 << 24
	a := &IDX{Dims: []int{n}, Data: make([]byte, n)}
	path := filepath.Join(t.TempDir(), "a")
	writeFile(t, path, idxBytes(t, a, false))
	gz := idxBytes(t, a, true)
	for _, c := range []struct {
		name string
		read func() error
		max  float64 // bytes allocated, in units of n
	}{
		{"file", func() error {
			_, err := readIDXFile(path, func([]int, int64) error { return nil })
			return err
		}, 1.05},
		{"gzip", func() error { _, err := ReadIDX(bytes.NewReader(gz)); return err }, 2.05},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := c.read()
		runtime.ReadMemStats(&after)
		require.NoError(t, err, "%s", c.name)
		assert.LessOrEqual(t, float64(after.TotalAlloc-before.TotalAlloc)/n, c.max, "%s: bytes allocated, in units of the array", c.name)
	}
}

func TestWriteIDXMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		a    *IDX
		want string // "" for no panic
	}{
		{"dimension over 32 bits", &IDX{Dims: []int{1 << 32}, Data: nil}, "dimension 4294967296 of [4294967296] does not fit in 32 bits"},
		{"negative dimension", &IDX{Dims: []int{2, -3}}, "dimension -3"},
		{"product overflows", &IDX{Dims: []int{1 << 31, 1 << 31, 1 << 31, 4}}, "0 bytes for dimensions"},
		{"wrong length", &IDX{Dims: []int{2, 2}, Data: make([]byte, 3)}, "3 bytes for dimensions [2 2]"},
		{"empty", &IDX{Dims: []int{1 << 31, 1 << 31, 1 << 31, 0}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" {
				assert.NotPanics(t, func() { WriteIDX(io.Discard, c.a) })
				return
			}
			defer func() { assert.Contains(t, fmt.Sprint(recover()), c.want, "the panic") }()
			WriteIDX(io.Discard, c.a)
		})
	}
}
