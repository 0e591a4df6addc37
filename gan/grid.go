package gan

import (
	"bytes"
	"fmt"
	"github.com/gantry-go/gantry/internal/atomicfile"
	"image"
	"image/png"
	"math"

	"github.com/gantry-go/gantry/tensor"
)

// GridPadding is the number of pixels between and around the images of a
// grid, as torchvision's make_grid uses by default.
const GridPadding = 2

// Grid tiles images [N, C, H, W] (C 1 or 3, values in [-1, 1]) into one
// picture, cols images a row, GridPadding black pixels between and around
// them, as torchvision's make_grid followed by save_image with
// value_range (-1, 1): each value v becomes round((v+1)/2·255), clamped. A
// gray batch gives an image.Gray, an RGB one an image.RGBA.
//
// It panics if images is not [N, C, H, W] with C 1 or 3 and N >= 1, or cols
// < 1.
func Grid(images *tensor.Tensor, cols int) image.Image {
	sh := images.Shape()
	if len(sh) != 4 || sh[0] < 1 || (sh[1] != 1 && sh[1] != 3) || cols < 1 {
		panic(fmt.Sprintf("gan: Grid: images %v, cols %d; want [N>=1, 1 or 3, H, W] and cols >= 1", sh, cols))
	}
	n, c, h, w := sh[0], sh[1], sh[2], sh[3]
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	p := GridPadding
	W, H := cols*(w+p)+p, rows*(h+p)+p
	bounds := image.Rect(0, 0, W, H)
	var gray *image.Gray
	var rgba *image.RGBA
	if c == 1 {
		gray = image.NewGray(bounds)
	} else {
		rgba = image.NewRGBA(bounds)
		for i := 3; i < len(rgba.Pix); i += 4 {
			rgba.Pix[i] = 255
		}
	}
	d := images.Data()
	for k := range n {
		x0, y0 := p+(k%cols)*(w+p), p+(k/cols)*(h+p)
		for y := range h {
			for x := range w {
				if c == 1 {
					gray.Pix[(y0+y)*gray.Stride+x0+x] = toByte(d[(k*h+y)*w+x])
					continue
				}
				o := (y0+y)*rgba.Stride + 4*(x0+x)
				for ch := range 3 {
					rgba.Pix[o+ch] = toByte(d[((k*3+ch)*h+y)*w+x])
				}
			}
		}
	}
	if c == 1 {
		return gray
	}
	return rgba
}

func toByte(v float32) uint8 {
	f := (float64(v) + 1) / 2 * 255
	if math.IsNaN(f) {
		return 0
	}
	return uint8(math.Round(min(255, max(0, f))))
}

// SaveGrid writes Grid(images, cols) as a PNG file at path, atomically.
//
// It panics as Grid does.
func SaveGrid(path string, images *tensor.Tensor, cols int) error {
	b, err := EncodeGrid(images, cols)
	if err != nil {
		return fmt.Errorf("gan: SaveGrid %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, b); err != nil {
		return fmt.Errorf("gan: SaveGrid %s: %w", path, err)
	}
	return nil
}

// EncodeGrid returns Grid(images, cols) encoded as PNG.
//
// It panics as Grid does.
func EncodeGrid(images *tensor.Tensor, cols int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, Grid(images, cols)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
