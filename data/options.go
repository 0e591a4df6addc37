package data

import (
	"fmt"
	"runtime"

	"golang.org/x/image/draw"
)

// Option configures how a source reads and converts images.
type Option func(*config)

type config struct {
	width, height int // 0: keep the images' own size
	channels      int // 0: the source's default (RGB for folders, gray for IDX)
	crop          bool
	kernel        Kernel
	strict        bool
	maxPixels     int64
	maxMemory     int64
	workers       int
}

// DefaultMaxPixels is the largest number of pixels (width times height) an
// image header may declare unless MaxPixels says otherwise: 2^25, about 33.5
// megapixels.
const DefaultMaxPixels = 1 << 25

// DefaultMaxMemory is the memory, in bytes, that loading a dataset may take
// unless MaxMemory says otherwise: 2 GiB, room for 170,000 RGB images of
// 32x32 or 40,000 of 64x64 (all of MNIST takes 188 MB).
const DefaultMaxMemory = 2 << 30

func newConfig(opts []Option) config {
	c := config{kernel: BiLinear, maxPixels: DefaultMaxPixels, maxMemory: DefaultMaxMemory, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Resolution makes every image n×n pixels: it is resized (stretched, as in the
// paper's pipeline, or first cropped with CenterCrop) with the Filter kernel.
// Without it, images keep their size, which must then be the same for all.
//
// It panics if n < 1.
func Resolution(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("data: Resolution: %d", n))
	}
	return func(c *config) { c.width, c.height = n, n }
}

// Gray makes images single-channel, [1, H, W], converting colour with the
// ITU-R 601 luma weights (0.299 R + 0.587 G + 0.114 B).
func Gray() Option { return func(c *config) { c.channels = 1 } }

// RGB makes images three-channel, [3, H, W]; gray sources are replicated.
func RGB() Option { return func(c *config) { c.channels = 3 } }

// CenterCrop crops each image to the largest centred square before resizing,
// keeping its aspect ratio, instead of stretching it.
func CenterCrop() Option { return func(c *config) { c.crop = true } }

// Kernel is a resampling filter for resizing.
type Kernel int

const (
	// BiLinear is the tent filter, widened when shrinking so that every
	// source pixel contributes (close to OpenCV's INTER_AREA, which the paper
	// used). The default.
	BiLinear Kernel = iota
	// ApproxBiLinear is a fast bilinear interpolation of the four nearest
	// pixels, without anti-aliasing.
	ApproxBiLinear
	// CatmullRom is the sharper bicubic Catmull-Rom filter.
	CatmullRom
	// Nearest takes the nearest pixel.
	Nearest
)

func (k Kernel) String() string {
	switch k {
	case BiLinear:
		return "BiLinear"
	case ApproxBiLinear:
		return "ApproxBiLinear"
	case CatmullRom:
		return "CatmullRom"
	case Nearest:
		return "Nearest"
	}
	return fmt.Sprintf("Kernel(%d)", int(k))
}

func (k Kernel) scaler() draw.Scaler {
	switch k {
	case BiLinear:
		return draw.BiLinear
	case ApproxBiLinear:
		return draw.ApproxBiLinear
	case CatmullRom:
		return draw.CatmullRom
	case Nearest:
		return draw.NearestNeighbor
	}
	panic(fmt.Sprintf("data: unknown %v", k))
}

// Filter sets the resampling kernel used by Resolution (default BiLinear).
//
// It panics if k is not one of the Kernel constants.
func Filter(k Kernel) Option {
	k.scaler() // validate
	return func(c *config) { c.kernel = k }
}

// Strict makes the first unreadable or corrupt file an error, instead of
// skipping it and recording it in Memory.Skipped.
func Strict() Option { return func(c *config) { c.strict = true } }

// MaxPixels refuses images whose header declares more than n pixels (width
// times height), before decoding them (default DefaultMaxPixels).
//
// It panics if n < 1.
func MaxPixels(n int64) Option {
	if n < 1 {
		panic(fmt.Sprintf("data: MaxPixels: %d", n))
	}
	return func(c *config) { c.maxPixels = n }
}

// MaxMemory bounds the memory, in bytes, that ImageFolder and the IDX
// readers may take (default DefaultMaxMemory): the decoded dataset itself
// plus, for a folder, the images being decoded at once, or, for IDX, the
// file's bytes. A source that would need more is refused, before the memory
// is allocated, with an error wrapping ErrTooLarge that gives the size
// needed.
//
// It panics if n < 1.
func MaxMemory(n int64) Option {
	if n < 1 {
		panic(fmt.Sprintf("data: MaxMemory: %d", n))
	}
	return func(c *config) { c.maxMemory = n }
}

// Workers sets how many goroutines decode images (default GOMAXPROCS).
//
// It panics if n < 1.
func Workers(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("data: Workers: %d", n))
	}
	return func(c *config) { c.workers = n }
}
