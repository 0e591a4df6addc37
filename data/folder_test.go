package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const clipart = "testdata/clipart"

// tolPixel is the one tolerance of this package's tests: a decoded value in
// [-1, 1] may be one 8-bit level from the reference conversion (rounding).
const tolPixel = 1.01 / 127.5

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, _, err := image.Decode(f)
	require.NoError(t, err)
	return img
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func encode(t *testing.T, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	require.NoError(t, err)
	return buf.Bytes()
}

// reference converts img the slow, obvious way: composite every pixel on
// white with 16-bit arithmetic, round to 8 bits, scale to [-1, 1].
func reference(img image.Image, channels int) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, channels*w*h)
	for y := range h {
		for x := range w {
			r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			c := [3]float64{}
			for k, v := range [3]uint32{r, g, bl} {
				c[k] = math.Round(float64(v+0xffff-a) / 257)
			}
			if channels == 1 {
				l := math.Round(0.299*c[0] + 0.587*c[1] + 0.114*c[2])
				out[y*w+x] = float32(2 * (l/255 - 0.5))
				continue
			}
			for k := range 3 {
				out[k*w*h+y*w+x] = float32(2 * (c[k]/255 - 0.5))
			}
		}
	}
	return out
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestImageFolderClipart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []Option
		shape []int
	}{
		{"rgb16", []Option{Resolution(16)}, []int{7, 3, 16, 16}},
		{"gray8", []Option{Resolution(8), Gray()}, []int{7, 1, 8, 8}},
		{"crop-catmullrom", []Option{Resolution(9), CenterCrop(), Filter(CatmullRom)}, []int{7, 3, 9, 9}},
		{"nearest-1worker", []Option{Resolution(5), Filter(Nearest), Workers(1)}, []int{7, 3, 5, 5}},
		{"approx", []Option{Resolution(32), Filter(ApproxBiLinear)}, []int{7, 3, 32, 32}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ImageFolder(clipart, tc.opts...)
			require.NoError(t, err)
			require.Equal(t, tc.shape, m.Images().Shape())
			assert.Empty(t, m.Skipped(), "skipped")
			assert.Equal(t, []string{"icons", "symbols"}, m.Classes(), "classes")
			assert.Equal(t, []int{0, 0, 0, 1, 1, 1, 1}, m.Labels(), "labels")
			for _, v := range m.Images().Data() {
				require.True(t, v >= -1 && v <= 1, "value %v outside [-1, 1]", v)
			}
		})
	}
}

// TestImageFolderModes checks every colour mode of real clipart at its own
// size against the reference conversion, in RGB and gray.
func TestImageFolderModes(t *testing.T) {
	for _, name := range []string{
		"icons/14_insertknots.png",                // gray+alpha
		"icons/pen_style_dash.png",                // 8-bit palette
		"icons/statistics_cedric_bosdon_01.png",   // RGBA, 29x29
		"symbols/_italy__lauris_kaplinski_01.png", // RGBA, 3x2
		"symbols/led_square_red.png",              // RGB
		"symbols/pattern-diamond-cubes-1.png",     // gray
		"symbols/vietnam_historic.png",            // 1-bit palette, 125x75
	} {
		src := decodePNG(t, filepath.Join(clipart, name))
		dir := t.TempDir()
		raw, err := os.ReadFile(filepath.Join(clipart, name))
		require.NoError(t, err)
		writeFile(t, filepath.Join(dir, "a.png"), raw)
		for _, c := range []int{1, 3} {
			opt := RGB()
			if c == 1 {
				opt = Gray()
			}
			m, err := ImageFolder(dir, opt)
			require.NoError(t, err, "%s", name)
			b := src.Bounds()
			require.Equal(t, []int{c, b.Dy(), b.Dx()}, m.Image(0).Shape(), "%s: shape", name)
			assert.LessOrEqual(t, maxDiff(m.Image(0).Data(), reference(src, c)), tolPixel, "%s, %d channels: max difference from reference", name, c)
			assert.Equal(t, -1, m.Label(0), "%s: unlabeled", name)
			assert.Nil(t, m.Classes(), "%s: unlabeled", name)
		}
	}
}

// TestImageFolderFormats re-encodes clipart as JPEG, GIF, 16-bit PNG and
// paletted PNG with transparency.
func TestImageFolderFormats(t *testing.T) {
	src := decodePNG(t, filepath.Join(clipart, "icons/statistics_cedric_bosdon_01.png"))
	b := src.Bounds()
	n64 := image.NewNRGBA64(b)
	pal := image.NewPaletted(b, color.Palette{color.Transparent, color.NRGBA{200, 30, 40, 255}, color.NRGBA{10, 90, 250, 128}})
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			n64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R)*257 + 3, uint16(c.G) * 257, uint16(c.B) * 257, uint16(c.A) * 257})
			pal.SetColorIndex(x, y, uint8((x+y)%3))
		}
	}
	g16 := image.NewGray16(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g16.SetGray16(x, y, color.Gray16{uint16(x*2000 + y*7)})
		}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		tol  float64
	}{
		{"a.jpg", src, 0},
		{"b.gif", src, 0},
		{"c.png", n64, tolPixel},
		{"d.png", pal, tolPixel},
		{"e.png", g16, tolPixel},
		{"f.JPEG", g16, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			format := map[string]string{".jpg": "jpeg", ".gif": "gif", ".png": "png", ".JPEG": "jpeg"}[filepath.Ext(tc.name)]
			raw := encode(t, tc.img, format)
			writeFile(t, filepath.Join(dir, tc.name), raw)
			m, err := ImageFolder(dir, Strict())
			require.NoError(t, err)
			want := tc.img
			if tc.tol == 0 { // lossy: compare with what the codec decodes
				want, _, err = image.Decode(bytes.NewReader(raw))
				require.NoError(t, err)
			}
			assert.LessOrEqual(t, maxDiff(m.Image(0).Data(), reference(want, 3)), max(tc.tol, tolPixel), "max difference from reference")
		})
	}
}

// pngHeader returns a PNG signature and IHDR chunk declaring w×h RGBA.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := make([]byte, 0, 17)
	chunk = append(chunk, "IHDR"...)
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 6, 0, 0, 0)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestImageFolderBadFiles(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	require.NoError(t, err)
	dir := t.TempDir()
	bad := []struct {
		name    string
		content []byte
		reason  string
		is      error
	}{
		{"a-zero.png", nil, "empty file", nil},
		{"b-truncated.png", good[:len(good)/2], "decoding png", nil},
		{"c-garbage.jpg", []byte("this is not an image at all"), "not a PNG, JPEG or GIF", image.ErrFormat},
		{"d-huge.png", pngHeader(100000, 100000), "100000x100000", ErrTooLarge},
		{"e-zero-size.png", pngHeader(0, 7), "invalid", nil},
		{"f-header-only.png", pngHeader(20, 20), "decoding png", nil},
	}
	for _, b := range bad {
		writeFile(t, filepath.Join(dir, b.name), b.content)
	}
	writeFile(t, filepath.Join(dir, "z-good.png"), good)
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, ".hidden.png"), []byte("ignored"))

	m, err := ImageFolder(dir, Resolution(8))
	require.NoError(t, err)
	assert.Equal(t, 1, m.Len())
	sk := m.Skipped()
	require.Len(t, sk, len(bad), "skipped")
	for i, b := range bad {
		path := filepath.Join(dir, b.name)
		assert.Equal(t, path, sk[i].Path, "skipped[%d]", i)
		assert.ErrorContains(t, sk[i], path, "skipped[%d]", i)
		assert.ErrorContains(t, sk[i], b.reason, "skipped[%d]", i)
		if b.is != nil {
			assert.ErrorIs(t, sk[i], b.is, "skipped[%d]", i)
		}
	}

	_, err = ImageFolder(dir, Resolution(8), Strict())
	var fe *FileError
	if assert.ErrorAs(t, err, &fe, "strict") {
		assert.Equal(t, filepath.Join(dir, bad[0].name), fe.Path, "strict: the FileError's path")
	}

	// Only bad files: an error naming the folder.
	os.Remove(filepath.Join(dir, "z-good.png"))
	_, err = ImageFolder(dir, Resolution(8))
	assert.ErrorIs(t, err, ErrEmpty, "all bad")
	assert.ErrorContains(t, err, dir, "all bad")
}

func TestImageFolderHugeLimit(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png")) // 50x50
	writeFile(t, filepath.Join(dir, "a.png"), raw)
	_, err := ImageFolder(dir, MaxPixels(2499), Strict())
	assert.ErrorIs(t, err, ErrTooLarge, "MaxPixels(2499)")
	_, err = ImageFolder(dir, MaxPixels(2500), Strict())
	assert.NoError(t, err, "MaxPixels(2500)")
}

func TestImageFolderSizes(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"symbols/led_square_red.png", "symbols/vietnam_historic.png"} {
		raw, _ := os.ReadFile(filepath.Join(clipart, name))
		writeFile(t, filepath.Join(dir, filepath.Base(name)), raw)
	}
	// Native sizes differ (50x50, 125x75): an error listing both, not a
	// dataset missing one.
	_, err := ImageFolder(dir)
	for _, want := range []string{"2 different sizes", "Resolution", "50x50: 1 of them (" + filepath.Join(dir, "led_square_red.png"), "125x75: 1 of them (" + filepath.Join(dir, "vietnam_historic.png")} {
		assert.ErrorContains(t, err, want, "mixed sizes")
	}
	m, err := ImageFolder(dir, Resolution(20))
	require.NoError(t, err)
	require.Equal(t, 2, m.Len(), "Resolution(20): images")
	require.Empty(t, m.Skipped(), "Resolution(20): skipped")
	// CenterCrop without resizing keeps the middle 75x75 square.
	os.Remove(filepath.Join(dir, "led_square_red.png"))
	m, err = ImageFolder(dir, CenterCrop())
	require.NoError(t, err)
	assert.Equal(t, []int{3, 75, 75}, m.Image(0).Shape(), "cropped shape")
	src := decodePNG(t, filepath.Join(clipart, "symbols/vietnam_historic.png"))
	crop := src.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(25, 0, 100, 75))
	assert.LessOrEqual(t, maxDiff(m.Image(0).Data(), reference(crop, 3)), tolPixel, "cropped: max difference")
}

func TestImageFolderEmpty(t *testing.T) {
	dir := t.TempDir()
	_, err := ImageFolder(dir)
	assert.ErrorIs(t, err, ErrEmpty, "empty")
	assert.ErrorContains(t, err, dir, "empty")
	writeFile(t, filepath.Join(dir, "sub", "readme.md"), []byte("x"))
	_, err = ImageFolder(dir)
	assert.ErrorIs(t, err, ErrEmpty, "no images")
	missing := filepath.Join(dir, "missing")
	_, err = ImageFolder(missing)
	assert.ErrorContains(t, err, missing, "missing")
	_, err = ImageFolder(filepath.Join(dir, "sub", "readme.md"))
	assert.ErrorContains(t, err, "not a folder", "file")
}

// TestImageFolderLabels: images directly in the root are unlabeled when
// sub-folders define classes; deeper folders belong to their top class.
func TestImageFolderLabels(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	dir := t.TempDir()
	for _, p := range []string{"root.png", "cat/a.png", "cat/deep/er/b.png", "ant/c.PNG", ".skip/d.png"} {
		writeFile(t, filepath.Join(dir, p), raw)
	}
	m, err := ImageFolder(dir)
	require.NoError(t, err)
	// Lexical order: ant/c.PNG, cat/a.png, cat/deep/er/b.png, root.png.
	assert.Equal(t, []int{0, 1, 1, -1}, m.Labels(), "labels")
	assert.Equal(t, []string{"ant", "cat"}, m.Classes(), "classes")
}

// TestImageFolderMaxMemory: the dataset must fit in MaxMemory, and what is
// left bounds the images decoded at once; within the limit the result is
// the same however tight it is.
func TestImageFolderMaxMemory(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png")) // 50x50
	require.NoError(t, err)
	dir := t.TempDir()
	for _, name := range []string{"a.png", "b.png", "c.png"} {
		writeFile(t, filepath.Join(dir, name), raw)
	}
	want, err := ImageFolder(dir, Resolution(8))
	require.NoError(t, err)
	const data = 3 * 3 * 8 * 8 * 4  // the dataset, in bytes
	const decode = 12*50*50 + 4*8*8 // one image being decoded
	cases := []struct {
		name   string
		limit  int64
		errHas string // "" for success
	}{
		{"one at a time", data + decode, ""},
		{"two at a time", data + 2*decode, ""},
		{"dataset too large", data - 1, "3 images of 3x8x8 take 2304 bytes, over the limit of 2303 set by MaxMemory"},
		{"no room to decode", data + decode - 1, "decoding it takes about 30256 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ImageFolder(dir, Resolution(8), MaxMemory(c.limit), Workers(3))
			if c.errHas != "" {
				assert.True(t, errors.Is(err, ErrTooLarge) || errors.Is(err, ErrEmpty), "err %v: want ErrTooLarge or ErrEmpty", err)
				assert.ErrorContains(t, err, c.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want.Images().Data(), m.Images().Data(), "images against the ones loaded with the default limit")
		})
	}
}

// A decoder that panics on a malformed file (here a format registered by
// this test) makes the file skipped, not the process crash from a worker.
func init() {
	image.RegisterFormat("boom", "BOOM", func(io.Reader) (image.Image, error) { panic("boom while decoding") },
		func(r io.Reader) (image.Config, error) {
			b := make([]byte, 5)
			io.ReadFull(r, b)
			if b[4] == 'H' {
				panic("boom in the header")
			}
			return image.Config{ColorModel: color.RGBAModel, Width: 2, Height: 2}, nil
		})
}

func TestImageFolderDecoderPanics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png"))
	require.NoError(t, err)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), raw)
	writeFile(t, filepath.Join(dir, "b.png"), []byte("BOOMD"))
	writeFile(t, filepath.Join(dir, "c.png"), []byte("BOOMH"))
	m, err := ImageFolder(dir, Resolution(4), Workers(2))
	require.NoError(t, err)
	sk := m.Skipped()
	assert.Equal(t, 1, m.Len(), "images")
	if assert.Len(t, sk, 2, "skipped") {
		assert.ErrorContains(t, sk[0], "b.png: the image decoder panicked: boom while decoding")
		assert.ErrorContains(t, sk[1], "c.png: the image decoder panicked: boom in the header")
	}
}
