package augment

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// Policy selects the DiffAugment transformations, applied in the order
// colour, translation, cutout.
type Policy struct {
	Color       bool // brightness, then saturation, then contrast
	Translation bool // integer shift by up to 1/8 of the size, zero fill
	Cutout      bool // one zeroed square of half the size
}

// ParsePolicy reads a comma-separated policy such as
// "color,translation,cutout" (the reference's recommendation for about 100
// images). "" is the empty policy.
func ParsePolicy(s string) (Policy, error) {
	var p Policy
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "color":
			p.Color = true
		case "translation":
			p.Translation = true
		case "cutout":
			p.Cutout = true
		default:
			return Policy{}, fmt.Errorf("augment: unknown DiffAugment policy %q in %q (want color, translation, cutout)", f, s)
		}
	}
	return p, nil
}

func (p Policy) String() string {
	var fs []string
	if p.Color {
		fs = append(fs, "color")
	}
	if p.Translation {
		fs = append(fs, "translation")
	}
	if p.Cutout {
		fs = append(fs, "cutout")
	}
	return strings.Join(fs, ",")
}

// Params are the random parameters of one DiffAugment application to a batch
// of N images of H×W pixels. The slices of the transformations that the
// policy leaves out are nil.
type Params struct {
	Policy     Policy
	N, H, W    int
	Brightness []float32 // u in [0, 1): x += u - 0.5
	Saturation []float32 // u in [0, 1): x = (x - channel mean)·2u + channel mean
	Contrast   []float32 // u in [0, 1): x = (x - image mean)·(u + 0.5) + image mean
	ShiftY     []int     // rows, in [-S, S] with S = round(H/8)
	ShiftX     []int     // columns, in [-S, S] with S = round(W/8)
	CutoutY    []int     // centre row, in [0, H + 1 - (H/2)%2) with a square of round(H/2)
	CutoutX    []int     // centre column, likewise
}

// TranslationRange returns the largest shift DiffAugment uses for a side of
// n pixels: round(n/8).
func TranslationRange(n int) int { return int(float64(n)*0.125 + 0.5) }

// CutoutSize returns the side of DiffAugment's cutout square for a side of n
// pixels: round(n/2).
func CutoutSize(n int) int { return int(float64(n)*0.5 + 0.5) }

// Sample draws DiffAugment parameters for n images of h×w pixels from r.
//
// It panics if n, h or w is below 1.
func Sample(p Policy, r *rand.Rand, n, h, w int) *Params {
	if n < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("augment: Sample: %d images of %dx%d", n, h, w))
	}
	prm := &Params{Policy: p, N: n, H: h, W: w}
	unif := func() []float32 {
		u := make([]float32, n)
		for i := range u {
			u[i] = r.Float32()
		}
		return u
	}
	ints := func(lo, hi int) []int { // [lo, hi)
		v := make([]int, n)
		for i := range v {
			v[i] = lo + r.IntN(hi-lo)
		}
		return v
	}
	if p.Color {
		prm.Brightness, prm.Saturation, prm.Contrast = unif(), unif(), unif()
	}
	if p.Translation {
		sy, sx := TranslationRange(h), TranslationRange(w)
		prm.ShiftY, prm.ShiftX = ints(-sy, sy+1), ints(-sx, sx+1)
	}
	if p.Cutout {
		prm.CutoutY = ints(0, h+1-CutoutSize(h)%2)
		prm.CutoutX = ints(0, w+1-CutoutSize(w)%2)
	}
	return prm
}

// Apply augments the batch x [N, C, H, W] with the parameters prm.
//
// It panics if x's shape does not match prm.
func Apply(x *autograd.Var, prm *Params) *autograd.Var {
	s := x.Shape()
	if len(s) != 4 || s[0] != prm.N || s[2] != prm.H || s[3] != prm.W {
		panic(fmt.Sprintf("augment: Apply: batch of shape %v for parameters of %d images of %dx%d", s, prm.N, prm.H, prm.W))
	}
	if prm.Policy.Color {
		x = Contrast(Saturation(Brightness(x, prm.Brightness), prm.Saturation), prm.Contrast)
	}
	if prm.Policy.Translation {
		x = Translate(x, prm.ShiftY, prm.ShiftX)
	}
	if prm.Policy.Cutout {
		x = Cutout(x, prm.CutoutY, prm.CutoutX)
	}
	return x
}

// DiffAugment draws fresh parameters from r and applies p to x.
func DiffAugment(x *autograd.Var, p Policy, r *rand.Rand) *autograd.Var {
	s := x.Shape()
	if len(s) != 4 {
		panic(fmt.Sprintf("augment: DiffAugment: batch of shape %v; want [N, C, H, W]", s))
	}
	return Apply(x, Sample(p, r, s[0], s[2], s[3]))
}

func checkN(op string, x *autograd.Var, n int) {
	s := x.Shape()
	if len(s) != 4 || s[0] != n {
		panic(fmt.Sprintf("augment: %s: batch of shape %v for %d parameters; want [%d, C, H, W]", op, s, n, n))
	}
}

// Brightness adds u[n] - 0.5 to every value of image n.
//
// It panics if x is not [len(u), C, H, W].
func Brightness(x *autograd.Var, u []float32) *autograd.Var {
	checkN("Brightness", x, len(u))
	d := make([]float32, len(u))
	for i, v := range u {
		d[i] = v - 0.5
	}
	return autograd.Add(x, perSample(d))
}

// Saturation scales each pixel's deviation from its mean over channels by
// 2·u[n] (a no-op for one channel).
//
// It panics if x is not [len(u), C, H, W].
func Saturation(x *autograd.Var, u []float32) *autograd.Var {
	checkN("Saturation", x, len(u))
	f := make([]float32, len(u))
	for i, v := range u {
		f[i] = 2 * v
	}
	m := autograd.Mean(x, true, 1)
	return autograd.Add(autograd.Mul(autograd.Sub(x, m), perSample(f)), m)
}

// Contrast scales each image's deviation from its mean over all its values
// by u[n] + 0.5.
//
// It panics if x is not [len(u), C, H, W].
func Contrast(x *autograd.Var, u []float32) *autograd.Var {
	checkN("Contrast", x, len(u))
	f := make([]float32, len(u))
	for i, v := range u {
		f[i] = v + 0.5
	}
	m := autograd.Mean(x, true, 1, 2, 3)
	return autograd.Add(autograd.Mul(autograd.Sub(x, m), perSample(f)), m)
}

// Translate shifts image n by dy[n] rows and dx[n] columns as DiffAugment
// does: out[i, j] = x[i + dy, j + dx], and 0 where that falls outside.
//
// It panics if x is not [len(dy), C, H, W] or len(dx) differs.
func Translate(x *autograd.Var, dy, dx []int) *autograd.Var {
	checkN("Translate", x, len(dy))
	checkN("Translate", x, len(dx))
	h, w := x.Shape()[2], x.Shape()[3]
	return gatherHW(x, func(n, i, j int) (int, int, bool) {
		y, xx := i+dy[n], j+dx[n]
		return y, xx, y >= 0 && y < h && xx >= 0 && xx < w
	})
}

// Cutout zeroes, in image n, the square of side CutoutSize (per axis) whose
// centre is at row cy[n] and column cx[n] (rows cy - size/2 to
// cy - size/2 + size - 1), clipped to the image.
//
// It panics if x is not [len(cy), C, H, W] or len(cx) differs.
func Cutout(x *autograd.Var, cy, cx []int) *autograd.Var {
	checkN("Cutout", x, len(cy))
	checkN("Cutout", x, len(cx))
	s := x.Shape()
	n, h, w := s[0], s[2], s[3]
	sh, sw := CutoutSize(h), CutoutSize(w)
	mask := tensor.Ones(n, 1, h, w)
	m := mask.Data()
	for b := range n {
		y0, x0 := cy[b]-sh/2, cx[b]-sw/2
		for i := max(y0, 0); i <= min(y0+sh-1, h-1); i++ {
			for j := max(x0, 0); j <= min(x0+sw-1, w-1); j++ {
				m[(b*h+i)*w+j] = 0
			}
		}
	}
	return autograd.Mul(x, autograd.Const(mask))
}
