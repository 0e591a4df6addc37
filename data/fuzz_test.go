package data

import (
	"bytes"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzIDX reads arbitrary bytes as an IDX file, gzipped or not, under a
// 1 MiB MaxMemory: it must fail with an error wrapping ErrFormat or
// ErrTooLarge (or a gzip error), or return an array that survives a round
// trip. The seeds are in testdata/fuzz/FuzzIDX.
func FuzzIDX(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadIDX(bytes.NewReader(b), MaxMemory(1<<20))
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) && (len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b) {
				t.Fatalf("error %v wraps neither ErrFormat nor ErrTooLarge", err)
			}
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) || n > 1<<20 {
			t.Fatalf("dims %v for %d bytes", a.Dims, len(a.Data))
		}
		var out bytes.Buffer
		if err := WriteIDX(&out, a); err != nil {
			t.Fatal(err)
		}
		back, err := ReadIDX(&out)
		if err != nil || !slices.Equal(back.Dims, a.Dims) || !bytes.Equal(back.Data, a.Data) {
			t.Fatalf("round trip: %v", err)
		}
		if len(a.Dims) == 3 && n > 0 {
			m, err := FromIDX(a, nil, Resolution(4), MaxMemory(1<<22))
			if err == nil && m.Len() != a.Dims[0] {
				t.Fatalf("%d images from dims %v", m.Len(), a.Dims)
			}
		}
	})
}

// FuzzImageFolder decodes arbitrary bytes as the one image of a folder,
// at its own size and resized: the result is a *FileError or one image
// with values in [-1, 1]. The seeds are in testdata/fuzz/FuzzImageFolder.
func FuzzImageFolder(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, opts := range [][]Option{
			{MaxPixels(1 << 16), Workers(1)},
			{MaxPixels(1 << 16), Resolution(5), Gray(), MaxMemory(1 << 22)},
		} {
			m, err := ImageFolder(dir, opts...)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not a *FileError", err)
				}
				continue
			}
			if m.Len() != 1 || len(m.Skipped()) != 0 {
				t.Fatalf("%d images, skipped %v", m.Len(), m.Skipped())
			}
			for _, v := range m.Images().Data() {
				if !(v >= -1 && v <= 1) || math.IsNaN(float64(v)) {
					t.Fatalf("value %v outside [-1, 1]", v)
				}
			}
			if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
				t.Fatalf("loaded an image whose header does not decode: %v", err)
			}
		}
	})
}
