// Package letters renders a labelled set of capital letters from the Go fonts:
// a third target for transfer experiments that neither an MNIST nor a
// Fashion-MNIST source has seen, made on the spot with no download.
//
// Each image is one of the 26 letters A-Z in one of ten faces of the Go font
// family (regular, medium and bold, upright and italic, and the four faces of
// Go Mono), drawn white on black in a 28×28 frame like MNIST's: the glyph's
// box is centred, scaled so that its longer side spans 17 to 22 pixels,
// rotated by up to ±12 degrees and shifted by up to ±1.5 pixels. The face
// and the jitter come from a seed, so the same seed gives the same images bit
// for bit, and different seeds give different images of the same
// distribution: Train and Eval use different seeds, so the evaluation images
// are held out.
//
// The fonts are those of golang.org/x/image/font/gofont (already a
// dependency of gantry), made by Bigelow & Holmes for the Go project and
// released under the Go licence (BSD 3-clause); see README.md.
package letters

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"sync"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomediumitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/gomonobolditalic"
	"golang.org/x/image/font/gofont/gomonoitalic"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/f64"
	"golang.org/x/image/math/fixed"

	"github.com/gantry-go/gantry/data"
)

// Sizes and seeds of the two standard parts.
const (
	TrainLen  = 5000 // images of Train, about 192 per letter
	EvalLen   = 1000 // images of Eval
	TrainSeed = 1
	EvalSeed  = 2
	// Side is the side of the rendered images before any data.Resolution.
	Side = 28
)

// Classes names the labels: label k is the letter 'A'+k.
var Classes = func() []string {
	c := make([]string, 26)
	for i := range c {
		c[i] = string(rune('A' + i))
	}
	return c
}()

// Train returns the training part: TrainLen images rendered with TrainSeed.
func Train(opts ...data.Option) (*data.Memory, error) { return Render(TrainLen, TrainSeed, opts...) }

// Eval returns the held-out part: EvalLen images rendered with EvalSeed.
func Eval(opts ...data.Option) (*data.Memory, error) { return Render(EvalLen, EvalSeed, opts...) }

// Render returns n labelled images: image i shows the letter i mod 26 (so
// the classes are balanced), in a face and with a jitter drawn from seed.
// The options convert them as data.FromIDX does (data.Resolution(32),
// data.RGB()).
//
// It panics if n < 1.
func Render(n int, seed uint64, opts ...data.Option) (*data.Memory, error) {
	if n < 1 {
		panic(fmt.Sprintf("letters: Render: n = %d; want at least 1", n))
	}
	faces, err := loadFaces()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x6c657474657273)) // "letters"
	imgs := &data.IDX{Dims: []int{n, Side, Side}, Data: make([]byte, n*Side*Side)}
	labs := &data.IDX{Dims: []int{n}, Data: make([]byte, n)}
	for i := range n {
		k := i % len(Classes)
		j := jitter{
			face:  r.IntN(len(faces)),
			size:  17 + 5*r.Float64(),
			angle: (2*r.Float64() - 1) * 12 * math.Pi / 180,
			dx:    (2*r.Float64() - 1) * 1.5,
			dy:    (2*r.Float64() - 1) * 1.5,
		}
		g := faces[j.face].render(rune('A'+k), j)
		copy(imgs.Data[i*Side*Side:], g.Pix)
		labs.Data[i] = byte(k)
	}
	m, err := data.FromIDX(imgs, labs, opts...)
	if err != nil {
		return nil, fmt.Errorf("letters: %w", err)
	}
	return data.FromTensor(m.Images(), m.Labels(), Classes), nil
}

type jitter struct {
	face          int
	size          float64 // the glyph box's longer side, in pixels
	angle, dx, dy float64
}

// face draws glyphs of one font at a large size, to be scaled down.
type face struct {
	mu sync.Mutex
	f  font.Face
}

// big is the side of the canvas a glyph is first drawn on, and the font size
// used there.
const (
	big     = 64
	bigSize = 44
)

func (f *face) render(c rune, j jitter) *image.Gray {
	f.mu.Lock()
	defer f.mu.Unlock()
	src := image.NewGray(image.Rect(0, 0, big, big))
	d := font.Drawer{Dst: src, Src: image.NewUniform(color.White), Face: f.f}
	b, _ := d.BoundString(string(c))
	d.Dot = fixed.Point26_6{X: fixed.I(big/2) - (b.Min.X+b.Max.X)/2, Y: fixed.I(big/2) - (b.Min.Y+b.Max.Y)/2}
	d.DrawString(string(c))

	w := float64(b.Max.X-b.Min.X) / 64
	h := float64(b.Max.Y-b.Min.Y) / 64
	k := j.size / max(w, h, 1)
	cos, sin := k*math.Cos(j.angle), k*math.Sin(j.angle)
	// dst = k·R·(src − c_big) + c_side + shift
	cx, cy := float64(big)/2, float64(big)/2
	ox, oy := float64(Side)/2+j.dx, float64(Side)/2+j.dy
	m := f64.Aff3{
		cos, -sin, ox - cos*cx + sin*cy,
		sin, cos, oy - sin*cx - cos*cy,
	}
	dst := image.NewGray(image.Rect(0, 0, Side, Side))
	draw.BiLinear.Transform(dst, m, src, src.Bounds(), draw.Src, nil)
	return dst
}

var (
	facesOnce sync.Once
	faces     []*face
	facesErr  error
)

// fonts are the ten faces used, in a fixed order.
var fonts = [][]byte{
	goregular.TTF, gomedium.TTF, gobold.TTF, goitalic.TTF, gomediumitalic.TTF, gobolditalic.TTF,
	gomono.TTF, gomonobold.TTF, gomonoitalic.TTF, gomonobolditalic.TTF,
}

func loadFaces() ([]*face, error) {
	facesOnce.Do(func() {
		for i, ttf := range fonts {
			f, err := opentype.Parse(ttf)
			if err != nil {
				facesErr = fmt.Errorf("letters: font %d: %w", i, err)
				return
			}
			ff, err := opentype.NewFace(f, &opentype.FaceOptions{Size: bigSize, DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				facesErr = fmt.Errorf("letters: font %d: %w", i, err)
				return
			}
			faces = append(faces, &face{f: ff})
		}
	})
	return faces, facesErr
}
