package cli

import (
	"bytes"
	"github.com/gantry-go/gantry/internal/atomicfile"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/gantry-go/gantry/tensor"
)

// toImage returns image i of a batch [N, C, H, W] with values in [-1, 1]
// as a picture, each value v becoming round((v+1)/2·255), clamped, as
// gan.Grid does, without a grid's padding.
func toImage(x *tensor.Tensor, i int) image.Image {
	s := x.Shape()
	c, h, w := s[1], s[2], s[3]
	d := x.Data()[i*c*h*w : (i+1)*c*h*w]
	byteOf := func(v float32) uint8 {
		f := math.Round((float64(v) + 1) / 2 * 255)
		return uint8(max(0, min(255, f)))
	}
	if c == 1 {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for k, v := range d {
			img.Pix[k] = byteOf(v)
		}
		return img
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			img.Set(xx, y, color.RGBA{byteOf(d[y*w+xx]), byteOf(d[h*w+y*w+xx]), byteOf(d[2*h*w+y*w+xx]), 255})
		}
	}
	return img
}

// savePNG writes img as a PNG file, atomically.
func savePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}
