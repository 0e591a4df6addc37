package gan

import (
	"errors"
	"fmt"
	"strings"
)

// Conditioning is how a conditional generator takes its class label.
type Conditioning string

const (
	// CondBatchNorm gives every batch norm of the generator a table of
	// scales and offsets [Classes, C] indexed by the label (the paper's
	// "Cond BNorm", and the default).
	CondBatchNorm Conditioning = "batchnorm"
	// CondConcat concatenates the one-hot label to z before the first
	// linear layer (the paper's "Cond Concat").
	CondConcat Conditioning = "concat"
)

// The paper's architecture settings, which a zero Config field means.
const (
	DefaultResolution = 64
	DefaultChannels   = 3
	DefaultWidth      = 64
	DefaultZDim       = 128
)

// Config describes a GAN of the paper's ResNet family. A zero field takes
// the paper's value (64×64 RGB images, width 64, z of 128 dimensions,
// unconditional); at CPU scale, set Resolution 32, Channels 1 and Width 16
// or 32.
type Config struct {
	// Resolution is the side of the square images: 16, 32, 64 or 128.
	Resolution int `json:"resolution"`
	// Channels is 1 (gray) or 3 (RGB).
	Channels int `json:"channels"`
	// Width is d, the channel count of the generator's last block and the
	// critic's first layer; the widest layers have 8·d channels.
	Width int `json:"width"`
	// ZDim is the size of the latent vector z ~ N(0, I).
	ZDim int `json:"z_dim"`
	// Classes is the number of classes of a conditional (AC-GAN) model, 0
	// for an unconditional one.
	Classes int `json:"classes"`
	// Conditioning is how a conditional generator takes its label; empty
	// means CondBatchNorm. It must be empty when Classes is 0.
	Conditioning Conditioning `json:"conditioning,omitempty"`
}

// WithDefaults returns c with every zero field set to the paper's value.
func (c Config) WithDefaults() Config {
	if c.Resolution == 0 {
		c.Resolution = DefaultResolution
	}
	if c.Channels == 0 {
		c.Channels = DefaultChannels
	}
	if c.Width == 0 {
		c.Width = DefaultWidth
	}
	if c.ZDim == 0 {
		c.ZDim = DefaultZDim
	}
	if c.Classes > 0 && c.Conditioning == "" {
		c.Conditioning = CondBatchNorm
	}
	return c
}

// Validate reports every invalid field of c (after WithDefaults) in one
// error, or nil.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch c.Resolution {
	case 16, 32, 64, 128:
	default:
		bad("Resolution", "%d; want 16, 32, 64 or 128", c.Resolution)
	}
	if c.Channels != 1 && c.Channels != 3 {
		bad("Channels", "%d; want 1 or 3", c.Channels)
	}
	if c.Width < 1 || c.Width > 1024 {
		bad("Width", "%d; want 1 to 1024", c.Width)
	}
	if c.ZDim < 1 || c.ZDim > 4096 {
		bad("ZDim", "%d; want 1 to 4096", c.ZDim)
	}
	if c.Classes < 0 || c.Classes > 100000 {
		bad("Classes", "%d; want 0 (unconditional) to 100000", c.Classes)
	}
	switch {
	case c.Classes == 0 && c.Conditioning != "":
		bad("Conditioning", "%q with Classes 0; want it empty for an unconditional model", c.Conditioning)
	case c.Classes > 0 && c.Conditioning != CondBatchNorm && c.Conditioning != CondConcat:
		bad("Conditioning", "%q; want %q or %q", c.Conditioning, CondBatchNorm, CondConcat)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Errs: errs}
}

// ConfigError lists every invalid field of a Config.
type ConfigError struct{ Errs []error }

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "gan: invalid Config: " + strings.Join(msgs, "; ")
}

// Unwrap returns the errors of the fields.
func (e *ConfigError) Unwrap() []error { return e.Errs }

// Start returns the side of the generator's first feature map,
// Resolution/16: the paper's code keeps four up-sampling blocks at every
// resolution and changes the start size (2×2 for 32×32 images).
func (c Config) Start() int { return c.WithDefaults().Resolution / 16 }

// Conditional reports whether c describes an AC-GAN.
func (c Config) Conditional() bool { return c.Classes > 0 }

// String returns a short description such as "32x32x1 d=16 z=128".
func (c Config) String() string {
	c = c.WithDefaults()
	s := fmt.Sprintf("%dx%dx%d d=%d z=%d", c.Resolution, c.Resolution, c.Channels, c.Width, c.ZDim)
	if c.Classes > 0 {
		s += fmt.Sprintf(" classes=%d (%s)", c.Classes, c.Conditioning)
	}
	return s
}

// errArch is wrapped by errors about a model of another architecture.
var errArch = errors.New("gan: architecture mismatch")
