package augment

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gantry-go/gantry/autograd"
	"github.com/gantry-go/gantry/tensor"
)

// ADA is the adaptive controller of the augmentation probability p (Karras
// et al. 2020, section 8.5 of the paper notes). The overfitting heuristic is
// r_t = E[sign(D(x_real))], the mean sign of the critic's outputs on real
// images. Every Interval observed batches,
//
//	p ← clamp(p + sign(r_t − Target) · images / (Kimg · 1000), 0, 1)
//
// where images is the number of real images observed since the last update,
// so p can move from 0 to 1 in Kimg thousand images. (The reference bounds p
// only below; p above 1 would mean nothing.)
type ADA struct {
	P        float64 // the current probability (start 0)
	Target   float64 // the target of r_t (0.6)
	Interval int     // batches between updates (4)
	Kimg     float64 // thousands of images for p to change by 1 (500)

	// The statistics since the last update, exported so that a checkpoint
	// (encoding/json) can save and restore the controller exactly.
	SignSum float64 // sum of sign(D(x_real))
	Count   int     // critic outputs observed
	Batches int     // batches observed
	LastRT  float64 // r_t of the last update
}

// NewADA returns a controller with the reference's settings: p = 0, target
// 0.6, an update every 4 batches, 500 kimg to move p by 1.
func NewADA() *ADA { return &ADA{Target: 0.6, Interval: 4, Kimg: 500} }

// Observe records the critic's outputs on one batch of real images (any
// shape; one value per image). Every Interval calls it updates P and returns
// true.
//
// It panics if Interval < 1 or Kimg <= 0.
func (a *ADA) Observe(dReal *tensor.Tensor) bool {
	if a.Interval < 1 || !(a.Kimg > 0) {
		panic(fmt.Sprintf("augment: ADA.Observe: Interval %d, Kimg %v", a.Interval, a.Kimg))
	}
	for _, v := range dReal.Data() {
		switch {
		case v > 0:
			a.SignSum++
		case v < 0:
			a.SignSum--
		}
	}
	a.Count += dReal.Len()
	a.Batches++
	if a.Batches < a.Interval {
		return false
	}
	if a.Count > 0 {
		a.LastRT = a.SignSum / float64(a.Count)
		adj := sign(a.LastRT-a.Target) * float64(a.Count) / (a.Kimg * 1000)
		a.P = min(max(a.P+adj, 0), 1)
	}
	a.SignSum, a.Count, a.Batches = 0, 0, 0
	return true
}

// RT returns r_t of the last update (0 before the first).
func (a *ADA) RT() float64 { return a.LastRT }

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// ADAParams are the random parameters of one ADA application to a batch of N
// images. Each transformation is applied to each image independently with
// probability p; an image it is not applied to has the identity value (false,
// 0, or 1 for the multiplicative ones).
type ADAParams struct {
	N, H, W    int
	FlipX      []bool    // mirror left to right
	Rot90      []int     // quarter turns counter-clockwise, 0-3 (square images only)
	ShiftY     []int     // integer translation in rows, |dy| <= round(H/8), reflected at the border
	ShiftX     []int     // and in columns
	Brightness []float64 // added to every channel, ~ N(0, 0.2)
	Contrast   []float64 // factor about 0 (mid-grey), 2^N(0, 0.5)
	LumaFlip   []bool    // reflect colours through the grey plane
	Hue        []float64 // rotation about the grey axis in radians, U(-π, π)
	Saturation []float64 // factor of the distance from the grey axis, 2^N(0, 1)
}

// SampleADA draws ADA parameters for n images of h×w pixels from r, each
// transformation with probability p (p is clamped to [0, 1]).
//
// It panics if n, h or w is below 1.
func SampleADA(p float64, r *rand.Rand, n, h, w int) *ADAParams {
	if n < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("augment: SampleADA: %d images of %dx%d", n, h, w))
	}
	p = min(max(p, 0), 1)
	a := &ADAParams{
		N: n, H: h, W: w,
		FlipX: make([]bool, n), Rot90: make([]int, n), ShiftY: make([]int, n), ShiftX: make([]int, n),
		Brightness: make([]float64, n), Contrast: make([]float64, n), LumaFlip: make([]bool, n),
		Hue: make([]float64, n), Saturation: make([]float64, n),
	}
	on := func() bool { return r.Float64() < p }
	sy, sx := TranslationRange(h), TranslationRange(w)
	for i := range n {
		a.Contrast[i], a.Saturation[i] = 1, 1
		if on() {
			a.FlipX[i] = r.IntN(2) == 1
		}
		if on() && h == w {
			a.Rot90[i] = r.IntN(4)
		}
		if on() {
			a.ShiftY[i], a.ShiftX[i] = r.IntN(2*sy+1)-sy, r.IntN(2*sx+1)-sx
		}
		if on() {
			a.Brightness[i] = 0.2 * r.NormFloat64()
		}
		if on() {
			a.Contrast[i] = math.Exp2(0.5 * r.NormFloat64())
		}
		if on() {
			a.LumaFlip[i] = r.IntN(2) == 1
		}
		if on() {
			a.Hue[i] = (2*r.Float64() - 1) * math.Pi
		}
		if on() {
			a.Saturation[i] = math.Exp2(r.NormFloat64())
		}
	}
	return a
}

// ADAugment draws parameters with probability p from r and applies them to x.
func ADAugment(x *autograd.Var, p float64, r *rand.Rand) *autograd.Var {
	s := x.Shape()
	if len(s) != 4 {
		panic(fmt.Sprintf("augment: ADAugment: batch of shape %v; want [N, C, H, W]", s))
	}
	return ApplyADA(x, SampleADA(p, r, s[0], s[2], s[3]))
}

// ApplyADA augments x [N, C, H, W] (C is 1 or 3) with prm: first the pixel
// moves (flip, then rotation, then translation), then one colour transform
// per image combining brightness, contrast, luma flip, hue and saturation in
// that order, as ADA's colour matrix does.
//
// It panics if x's shape does not match prm, C is not 1 or 3, or a rotation
// is asked of a non-square image.
func ApplyADA(x *autograd.Var, prm *ADAParams) *autograd.Var {
	s := x.Shape()
	if len(s) != 4 || s[0] != prm.N || s[2] != prm.H || s[3] != prm.W || (s[1] != 1 && s[1] != 3) {
		panic(fmt.Sprintf("augment: ApplyADA: batch of shape %v for parameters of %d images of %dx%d (C must be 1 or 3)", s, prm.N, prm.H, prm.W))
	}
	x = Geometric(x, prm.FlipX, prm.Rot90, prm.ShiftY, prm.ShiftX)
	return ColorTransform(x, ColorMatrices(prm))
}

// Geometric flips image n left to right if flip[n], turns it rot[n] quarter
// turns counter-clockwise, then shifts it by dy[n] rows and dx[n] columns
// (out[i, j] = in[i + dy, j + dx]), reflecting at the border as ADA pads. Nil
// slices mean no such move.
//
// It panics if a slice's length is not N, or a rotation is asked of a
// non-square image.
func Geometric(x *autograd.Var, flip []bool, rot, dy, dx []int) *autograd.Var {
	s := x.Shape()
	n, h, w := s[0], s[2], s[3]
	for _, l := range []int{len(flip), len(rot), len(dy), len(dx)} {
		if l != 0 && l != n {
			panic(fmt.Sprintf("augment: Geometric: %d parameters for a batch of shape %v", l, s))
		}
	}
	moved := false
	for i := range n {
		if (flip != nil && flip[i]) || (rot != nil && rot[i]%4 != 0) || (dy != nil && dy[i] != 0) || (dx != nil && dx[i] != 0) {
			moved = true
		}
		if rot != nil && rot[i]%4 != 0 && h != w {
			panic(fmt.Sprintf("augment: Geometric: rotation of a non-square batch %v", s))
		}
	}
	if !moved {
		return x
	}
	return gatherHW(x, func(b, i, j int) (int, int, bool) {
		// Undo the translation, the rotation, then the flip.
		if dy != nil {
			i, j = reflect(i+dy[b], h), reflect(j+dx[b], w)
		}
		if rot != nil {
			for range (rot[b]%4 + 4) % 4 { // a counter-clockwise turn samples in[j, w-1-i]
				i, j = j, w-1-i
			}
		}
		if flip != nil && flip[b] {
			j = w - 1 - j
		}
		return i, j, true
	})
}

// reflect maps k into [0, n) by mirroring at the ends without repeating the
// edge (numpy's and PyTorch's "reflect").
func reflect(k, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	k %= period
	if k < 0 {
		k += period
	}
	if k >= n {
		k = period - k
	}
	return k
}

// ColorMatrices returns, for each image, ADA's 3×4 affine colour transform
// [M | t] (M 3×3, t the offset) combining prm's brightness, contrast, luma
// flip, hue rotation and saturation, as a [N, 3, 4] tensor.
func ColorMatrices(prm *ADAParams) *tensor.Tensor {
	out := tensor.New(prm.N, 3, 4)
	d := out.Data()
	v := [3]float64{1 / math.Sqrt(3), 1 / math.Sqrt(3), 1 / math.Sqrt(3)} // the grey axis
	for n := range prm.N {
		c := identity4()
		b := prm.Brightness[n]
		c = mul4(translate3(b, b, b), c)
		k := prm.Contrast[n]
		c = mul4(scale3(k, k, k), c)
		if prm.LumaFlip[n] {
			c = mul4(householder(v), c)
		}
		c = mul4(rotate3(v, prm.Hue[n]), c)
		c = mul4(saturate(v, prm.Saturation[n]), c)
		for i := range 3 {
			for j := range 4 {
				d[(n*3+i)*4+j] = float32(c[i][j])
			}
		}
	}
	return out
}

// ColorTransform applies per-image affine colour transforms m [N, 3, 4] to x
// [N, C, H, W]: for C = 3, out = M·x + t at every pixel; for C = 1, ADA's gray
// rule, out = x·(row sums of M, averaged) + (mean of t).
//
// It panics if the shapes do not fit.
func ColorTransform(x *autograd.Var, m *tensor.Tensor) *autograd.Var {
	s := x.Shape()
	ms := m.Shape()
	if len(s) != 4 || len(ms) != 3 || ms[0] != s[0] || ms[1] != 3 || ms[2] != 4 || (s[1] != 1 && s[1] != 3) {
		panic(fmt.Sprintf("augment: ColorTransform: batch %v with matrices %v", s, ms))
	}
	n, c, h, w := s[0], s[1], s[2], s[3]
	md := m.Data()
	if c == 1 {
		scale := make([]float32, n)
		off := make([]float32, n)
		for b := range n {
			var sc, t float64
			for i := range 3 {
				for j := range 3 {
					sc += float64(md[(b*3+i)*4+j])
				}
				t += float64(md[(b*3+i)*4+3])
			}
			scale[b], off[b] = float32(sc/3), float32(t/3)
		}
		return autograd.Add(autograd.Mul(x, perSample(scale)), perSample(off))
	}
	lin := make([]float32, n*9)
	off := make([]float32, n*3)
	for b := range n {
		for i := range 3 {
			for j := range 3 {
				lin[(b*3+i)*3+j] = md[(b*3+i)*4+j]
			}
			off[b*3+i] = md[(b*3+i)*4+3]
		}
	}
	y := autograd.MatMul(autograd.Const(tensor.FromSlice(lin, n, 3, 3)), autograd.Reshape(x, n, 3, h*w))
	y = autograd.Add(y, autograd.Const(tensor.FromSlice(off, n, 3, 1)))
	return autograd.Reshape(y, n, 3, h, w)
}

type mat4 [4][4]float64

func identity4() mat4 {
	var m mat4
	for i := range 4 {
		m[i][i] = 1
	}
	return m
}

func mul4(a, b mat4) mat4 {
	var m mat4
	for i := range 4 {
		for j := range 4 {
			for k := range 4 {
				m[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return m
}

func translate3(x, y, z float64) mat4 {
	m := identity4()
	m[0][3], m[1][3], m[2][3] = x, y, z
	return m
}

func scale3(x, y, z float64) mat4 {
	m := identity4()
	m[0][0], m[1][1], m[2][2] = x, y, z
	return m
}

// householder returns I - 2vvᵀ (v a unit vector).
func householder(v [3]float64) mat4 {
	m := identity4()
	for i := range 3 {
		for j := range 3 {
			m[i][j] -= 2 * v[i] * v[j]
		}
	}
	return m
}

// rotate3 returns the rotation by theta about the unit axis v (Rodrigues).
func rotate3(v [3]float64, theta float64) mat4 {
	s, c := math.Sin(theta), math.Cos(theta)
	cc := 1 - c
	x, y, z := v[0], v[1], v[2]
	m := identity4()
	m[0] = [4]float64{x*x*cc + c, x*y*cc - z*s, x*z*cc + y*s, 0}
	m[1] = [4]float64{y*x*cc + z*s, y*y*cc + c, y*z*cc - x*s, 0}
	m[2] = [4]float64{z*x*cc - y*s, z*y*cc + x*s, z*z*cc + c, 0}
	return m
}

// saturate returns vvᵀ + (I - vvᵀ)·s.
func saturate(v [3]float64, s float64) mat4 {
	m := identity4()
	for i := range 3 {
		for j := range 3 {
			vv := v[i] * v[j]
			id := 0.0
			if i == j {
				id = 1
			}
			m[i][j] = vv + (id-vv)*s
		}
	}
	return m
}
