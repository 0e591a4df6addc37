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
	"slices"
	"strings"
	"testing"
)

const clipart = "testdata/clipart"

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
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
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Images().Shape(); !slices.Equal(got, tc.shape) {
				t.Fatalf("shape %v; want %v", got, tc.shape)
			}
			if len(m.Skipped()) != 0 {
				t.Errorf("skipped %v", m.Skipped())
			}
			if want := []string{"icons", "symbols"}; !slices.Equal(m.Classes(), want) {
				t.Errorf("classes %v; want %v", m.Classes(), want)
			}
			if want := []int{0, 0, 0, 1, 1, 1, 1}; !slices.Equal(m.Labels(), want) {
				t.Errorf("labels %v; want %v", m.Labels(), want)
			}
			for _, v := range m.Images().Data() {
				if !(v >= -1 && v <= 1) {
					t.Fatalf("value %v outside [-1, 1]", v)
				}
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
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "a.png"), raw)
		for _, c := range []int{1, 3} {
			opt := RGB()
			if c == 1 {
				opt = Gray()
			}
			m, err := ImageFolder(dir, opt)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			b := src.Bounds()
			if got, want := m.Image(0).Shape(), []int{c, b.Dy(), b.Dx()}; !slices.Equal(got, want) {
				t.Fatalf("%s: shape %v; want %v", name, got, want)
			}
			if d := maxDiff(m.Image(0).Data(), reference(src, c)); d > 1.01/127.5 {
				t.Errorf("%s, %d channels: max difference %v from reference", name, c, d)
			}
			if m.Label(0) != -1 || m.Classes() != nil {
				t.Errorf("%s: label %d, classes %v; want unlabeled", name, m.Label(0), m.Classes())
			}
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
		{"c.png", n64, 1.01 / 127.5},
		{"d.png", pal, 1.01 / 127.5},
		{"e.png", g16, 1.01 / 127.5},
		{"f.JPEG", g16, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			format := map[string]string{".jpg": "jpeg", ".gif": "gif", ".png": "png", ".JPEG": "jpeg"}[filepath.Ext(tc.name)]
			raw := encode(t, tc.img, format)
			writeFile(t, filepath.Join(dir, tc.name), raw)
			m, err := ImageFolder(dir, Strict())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.img
			if tc.tol == 0 { // lossy: compare with what the codec decodes
				want, _, err = image.Decode(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
			}
			if d := maxDiff(m.Image(0).Data(), reference(want, 3)); d > max(tc.tol, 1.01/127.5) {
				t.Errorf("max difference %v from reference", d)
			}
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
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d; want 1", m.Len())
	}
	sk := m.Skipped()
	if len(sk) != len(bad) {
		t.Fatalf("skipped %d files: %v; want %d", len(sk), sk, len(bad))
	}
	for i, b := range bad {
		path := filepath.Join(dir, b.name)
		if sk[i].Path != path || !strings.Contains(sk[i].Error(), path) || !strings.Contains(sk[i].Error(), b.reason) {
			t.Errorf("skipped[%d] = %q; want %s and %q", i, sk[i], path, b.reason)
		}
		if b.is != nil && !errors.Is(sk[i], b.is) {
			t.Errorf("skipped[%d] = %v; want errors.Is %v", i, sk[i], b.is)
		}
	}

	_, err = ImageFolder(dir, Resolution(8), Strict())
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != filepath.Join(dir, bad[0].name) {
		t.Errorf("strict: err = %v; want a FileError for %s", err, bad[0].name)
	}

	// Only bad files: an error naming the folder.
	os.Remove(filepath.Join(dir, "z-good.png"))
	_, err = ImageFolder(dir, Resolution(8))
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), dir) {
		t.Errorf("all bad: err = %v; want ErrEmpty naming %s", err, dir)
	}
}

func TestImageFolderHugeLimit(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png")) // 50x50
	writeFile(t, filepath.Join(dir, "a.png"), raw)
	_, err := ImageFolder(dir, MaxPixels(2499), Strict())
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels(2499): err = %v; want ErrTooLarge", err)
	}
	if _, err := ImageFolder(dir, MaxPixels(2500), Strict()); err != nil {
		t.Errorf("MaxPixels(2500): %v", err)
	}
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
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mixed sizes: err = %v; want it to contain %q", err, want)
		}
	}
	m, err := ImageFolder(dir, Resolution(20))
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 2 || len(m.Skipped()) != 0 {
		t.Fatalf("Resolution(20): %v images, skipped %v; want both", m.Len(), m.Skipped())
	}
	// CenterCrop without resizing keeps the middle 75x75 square.
	os.Remove(filepath.Join(dir, "led_square_red.png"))
	m, err = ImageFolder(dir, CenterCrop())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Image(0).Shape(); !slices.Equal(got, []int{3, 75, 75}) {
		t.Errorf("cropped shape %v; want [3 75 75]", got)
	}
	src := decodePNG(t, filepath.Join(clipart, "symbols/vietnam_historic.png"))
	crop := src.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(25, 0, 100, 75))
	if d := maxDiff(m.Image(0).Data(), reference(crop, 3)); d > 1.01/127.5 {
		t.Errorf("cropped: max difference %v", d)
	}
}

func TestImageFolderEmpty(t *testing.T) {
	dir := t.TempDir()
	_, err := ImageFolder(dir)
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), dir) {
		t.Errorf("empty: err = %v; want ErrEmpty naming %s", err, dir)
	}
	writeFile(t, filepath.Join(dir, "sub", "readme.md"), []byte("x"))
	if _, err := ImageFolder(dir); !errors.Is(err, ErrEmpty) {
		t.Errorf("no images: err = %v; want ErrEmpty", err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ImageFolder(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing: err = %v; want one naming %s", err, missing)
	}
	file := filepath.Join(dir, "sub", "readme.md")
	if _, err := ImageFolder(file); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("file: err = %v; want not a folder", err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	// Lexical order: ant/c.PNG, cat/a.png, cat/deep/er/b.png, root.png.
	if want := []int{0, 1, 1, -1}; !slices.Equal(m.Labels(), want) {
		t.Errorf("labels %v; want %v", m.Labels(), want)
	}
	if want := []string{"ant", "cat"}; !slices.Equal(m.Classes(), want) {
		t.Errorf("classes %v; want %v", m.Classes(), want)
	}
}

// TestImageFolderMaxMemory: the dataset must fit in MaxMemory, and what is
// left bounds the images decoded at once; within the limit the result is
// the same however tight it is.
func TestImageFolderMaxMemory(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(clipart, "symbols/led_square_red.png")) // 50x50
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.png", "b.png", "c.png"} {
		writeFile(t, filepath.Join(dir, name), raw)
	}
	want, err := ImageFolder(dir, Resolution(8))
	if err != nil {
		t.Fatal(err)
	}
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
				if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), c.errHas) {
					t.Errorf("err = %v; want it to contain %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Images().Data(), want.Images().Data()) {
				t.Errorf("images differ from the ones loaded with the default limit")
			}
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
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.png"), raw)
	writeFile(t, filepath.Join(dir, "b.png"), []byte("BOOMD"))
	writeFile(t, filepath.Join(dir, "c.png"), []byte("BOOMH"))
	m, err := ImageFolder(dir, Resolution(4), Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	sk := m.Skipped()
	if m.Len() != 1 || len(sk) != 2 || !strings.Contains(sk[0].Error(), "b.png: the image decoder panicked: boom while decoding") ||
		!strings.Contains(sk[1].Error(), "c.png: the image decoder panicked: boom in the header") {
		t.Errorf("%d images, skipped %v; want a.png and the two panics recorded", m.Len(), sk)
	}
}
