package data

import (
	"image"

	"golang.org/x/image/draw"
)

// unit maps a byte v to 2*(v/255 - 0.5), the paper's scaling to [-1, 1].
var unit = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(2 * (float64(v)/255 - 0.5))
	}
	return t
}()

// opaque returns img composited on white as an *image.RGBA, or img itself if
// it is an *image.Gray or an opaque *image.RGBA. Palettes, gray+alpha and
// 16-bit images all become 8-bit RGBA here.
func opaque(img image.Image) image.Image {
	switch im := img.(type) {
	case *image.Gray:
		return im
	case *image.RGBA:
		if im.Opaque() {
			return im
		}
	}
	b := img.Bounds()
	c := image.NewRGBA(b)
	draw.Draw(c, b, image.White, image.Point{}, draw.Src)
	draw.Draw(c, b, img, b.Min, draw.Over)
	return c
}

// centerSquare returns the largest square centred in r.
func centerSquare(r image.Rectangle) image.Rectangle {
	w, h := r.Dx(), r.Dy()
	s := min(w, h)
	x0, y0 := r.Min.X+(w-s)/2, r.Min.Y+(h-s)/2
	return image.Rect(x0, y0, x0+s, y0+s)
}

// converter turns decoded images into [C, H, W] values in [-1, 1]. Each
// goroutine uses its own, as it keeps a scratch image for resizing.
type converter struct {
	cfg     *config
	scratch *image.RGBA
}

// outSize returns the size src will have after cropping and resizing.
func (cv *converter) outSize(src image.Rectangle) (r image.Rectangle, w, h int) {
	r = src
	if cv.cfg.crop {
		r = centerSquare(r)
	}
	w, h = cv.cfg.width, cv.cfg.height
	if w == 0 {
		w, h = r.Dx(), r.Dy()
	}
	return r, w, h
}

// put writes src, an *image.Gray or opaque *image.RGBA, cropped and resized
// to w×h (from outSize), into out, which holds channels*w*h values.
func (cv *converter) put(out []float32, src image.Image, r image.Rectangle, w, h, channels int) {
	if r.Dx() != w || r.Dy() != h {
		if cv.scratch == nil || cv.scratch.Rect.Dx() != w || cv.scratch.Rect.Dy() != h {
			cv.scratch = image.NewRGBA(image.Rect(0, 0, w, h))
		}
		cv.cfg.kernel.scaler().Scale(cv.scratch, cv.scratch.Rect, src, r, draw.Src, nil)
		src, r = cv.scratch, cv.scratch.Rect
	}
	plane := w * h
	switch im := src.(type) {
	case *image.Gray:
		for y := range h {
			row := im.Pix[im.PixOffset(r.Min.X, r.Min.Y+y):][:w]
			for x, v := range row {
				out[y*w+x] = unit[v]
			}
		}
		for c := 1; c < channels; c++ {
			copy(out[c*plane:(c+1)*plane], out[:plane])
		}
	case *image.RGBA:
		for y := range h {
			row := im.Pix[im.PixOffset(r.Min.X, r.Min.Y+y):][:4*w]
			for x := range w {
				p := row[4*x : 4*x+3 : 4*x+3]
				if channels == 1 {
					l := (19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 1<<15) >> 16
					out[y*w+x] = unit[l]
				} else {
					out[y*w+x] = unit[p[0]]
					out[plane+y*w+x] = unit[p[1]]
					out[2*plane+y*w+x] = unit[p[2]]
				}
			}
		}
	default:
		panic("data: internal error: unexpected image type")
	}
}
