package inception

import (
	"fmt"
	"io"
	"strings"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

const (
	// Size is the side of the square images the network sees: every input
	// is resized to Size×Size first.
	Size = 299
	// Dim is the length of a feature vector (the pool3 features).
	Dim = 2048
	// FIDName is the Name of a network holding pytorch-fid's weights, as
	// written by scripts/inception/convert_fid_weights.py after it checked
	// the checksum of pt_inception-2015-12-05-6726825d.pth.
	FIDName = "inception-v3-pytorch-fid"
	// DefaultName is the Name of a network whose file does not say where its
	// weights came from.
	DefaultName = "inception-v3"
	// MetaName is the safetensors metadata key whose value LoadFile and Load
	// take as the network's Name.
	MetaName = "gantry.inception.name"
	// DefaultBatchSize is the number of images Features runs through the
	// network at a time when Net.BatchSize is 0.
	DefaultBatchSize = 16
)

// Net is InceptionV3 as pytorch-fid uses it for FID: torchvision's
// Inception3 up to its final average pool, with pytorch-fid's FID blocks
// (FIDInceptionA, C, E_1 and E_2) in place of torchvision's. Its parameters
// and buffers carry the names of PyTorch's state_dict of that model
// ("Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.bn.running_mean"), so a
// converted pytorch-fid checkpoint loads as is.
//
// Net implements the Extractor interface of package metrics: Features, Name
// and Dim. It is read-only once loaded, so Features may be called from
// several goroutines at once.
type Net struct {
	Stem
	Mixed5b *BlockA `nn:"Mixed_5b"` // 192 -> 256 channels, 35x35
	Mixed5c *BlockA `nn:"Mixed_5c"` // 256 -> 288
	Mixed5d *BlockA `nn:"Mixed_5d"` // 288 -> 288
	Mixed6a *BlockB `nn:"Mixed_6a"` // 288 -> 768, 17x17
	Mixed6b *BlockC `nn:"Mixed_6b"` // c7 = 128
	Mixed6c *BlockC `nn:"Mixed_6c"` // c7 = 160
	Mixed6d *BlockC `nn:"Mixed_6d"` // c7 = 160
	Mixed6e *BlockC `nn:"Mixed_6e"` // c7 = 192
	Mixed7a *BlockD `nn:"Mixed_7a"` // 768 -> 1280, 8x8
	Mixed7b *BlockE `nn:"Mixed_7b"` // FIDInceptionE_1, 1280 -> 2048
	Mixed7c *BlockE `nn:"Mixed_7c"` // FIDInceptionE_2, 2048 -> 2048

	// Label is returned by Name. LoadFile and Load set it from the file's
	// MetaName metadata, or to DefaultName.
	Label string `nn:"-"`
	// BatchSize bounds the images Features runs through the network at
	// once, and so its memory (roughly 15 MB an image); 0 means
	// DefaultBatchSize.
	BatchSize int `nn:"-"`

	dim int
}

// New returns the network with zero convolution weights and identity batch
// norms, to be filled with LoadState. Its Label is DefaultName.
func New() *Net { return newNet(1) }

// newNet returns the network with every channel count but the image's
// divided by div (1 for the real one), for tests with small weights.
func newNet(div int) *Net {
	d := widths(div)
	return &Net{
		Stem:    newStem(d),
		Mixed5b: newBlockA(d, 192, 32),
		Mixed5c: newBlockA(d, 256, 64),
		Mixed5d: newBlockA(d, 288, 64),
		Mixed6a: newBlockB(d, 288),
		Mixed6b: newBlockC(d, 768, 128),
		Mixed6c: newBlockC(d, 768, 160),
		Mixed6d: newBlockC(d, 768, 160),
		Mixed6e: newBlockC(d, 768, 192),
		Mixed7a: newBlockD(d, 768),
		Mixed7b: newBlockE(d, 1280, false),
		Mixed7c: newBlockE(d, 2048, true),
		Label:   DefaultName,
		dim:     d.of(Dim),
	}
}

// ignoredPrefixes name the entries of an Inception3 state dict that the
// feature network does not use: the classifier and the auxiliary head.
var ignoredPrefixes = []string{"fc.", "AuxLogits."}

// LoadState copies the weights and batch-norm statistics of sd into n, by
// PyTorch's names. Entries of the classifier ("fc.") and the auxiliary head
// ("AuxLogits.") are ignored and missing num_batches_tracked counters are
// allowed (old checkpoints lack them; evaluation does not use them);
// otherwise the load is strict. On error n is unchanged and the error wraps
// an *nn.LoadError listing every missing, unexpected and mis-shaped entry.
func (n *Net) LoadState(sd nn.State) error {
	if err := n.load(sd); err != nil {
		return fmt.Errorf("inception: LoadState: %w", err)
	}
	return nil
}

func (n *Net) load(sd nn.State) error {
	use := nn.State{}
	for k, t := range sd {
		ignored := false
		for _, p := range ignoredPrefixes {
			ignored = ignored || strings.HasPrefix(k, p)
		}
		if !ignored {
			use[k] = t
		}
	}
	for k, t := range nn.StateDict(n) {
		if _, ok := use[k]; !ok && strings.HasSuffix(k, ".num_batches_tracked") {
			use[k] = t
		}
	}
	return nn.LoadStateDict(n, use, nn.LoadOptions{})
}

// Load reads a safetensors stream of Inception weights (see LoadState)
// into a new network, labelled by the stream's MetaName metadata or
// DefaultName.
func Load(r io.Reader) (*Net, error) {
	sd, meta, err := nn.Load(r)
	if err != nil {
		return nil, fmt.Errorf("inception: Load: %w", err)
	}
	return fromState(sd, meta, "inception: Load")
}

// LoadFile reads the safetensors file at path into a new network (see
// Load); errors name the file. Make the file from pytorch-fid's weights with
// scripts/inception/convert_fid_weights.py.
func LoadFile(path string) (*Net, error) {
	sd, meta, err := nn.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inception: %w", err)
	}
	return fromState(sd, meta, "inception: LoadFile "+path)
}

func fromState(sd nn.State, meta map[string]string, ctx string) (*Net, error) {
	n := New()
	if err := n.load(sd); err != nil {
		return nil, fmt.Errorf("%s: %w", ctx, err)
	}
	if name := meta[MetaName]; name != "" {
		n.Label = name
	}
	return n, nil
}

// Name returns n.Label, the name results computed with these features
// carry.
func (n *Net) Name() string { return n.Label }

// Dim returns the length of a feature vector, Dim (2048).
func (n *Net) Dim() int { return n.dim }

// Features returns the pool3 features [N, 2048] of images [N, C, H, W] with
// values in [-1, 1], as pytorch-fid's InceptionV3 (output block 3,
// resize_input and normalize_input on) computes them for the same images
// scaled to [0, 1]. C is 3 (RGB) or 1 (gray, repeated to three channels).
// Each image is resized to 299×299 bilinearly (align_corners=False) and run
// through the network in evaluation mode, BatchSize images at a time,
// without recording an autograd graph. images is not modified.
//
// pytorch-fid maps its [0, 1] input u to 2u-1 after resizing: for a gantry
// image x = 2u-1 that is x itself (bilinear weights sum to one), so no
// scaling is applied.
//
// It panics if images is not [N, 3, H, W] or [N, 1, H, W] with N, H, W >= 1.
func (n *Net) Features(images *tensor.Tensor) *tensor.Tensor {
	sh := images.Shape()
	if len(sh) != 4 || (sh[1] != 3 && sh[1] != 1) || sh[0] < 1 || sh[2] < 1 || sh[3] < 1 {
		panic(fmt.Sprintf("inception: Net.Features: images of shape %v; want [N, 3, H, W] or [N, 1, H, W]", sh))
	}
	bs := n.BatchSize
	if bs <= 0 {
		bs = DefaultBatchSize
	}
	num := sh[0]
	out := tensor.New(num, n.dim)
	rh := tensor.ResizeMatrix(sh[2], Size, false)
	rw := tensor.ResizeMatrix(sh[3], Size, false)
	for s := 0; s < num; s += bs {
		b := min(bs, num-s)
		x := tensor.Slice(images, 0, s, s+b)
		if sh[2] != Size || sh[3] != Size {
			x = tensor.MatMulT(tensor.MatMul(rh, x), rw, false, true)
		}
		if sh[1] == 1 {
			x = tensor.Concat(1, x, x, x)
		}
		f := n.forward(x)
		copy(out.Data()[s*n.dim:(s+b)*n.dim], f.Data())
	}
	return out
}

// forward runs x [N,3,H,W] through the network and averages the last
// feature maps over space, giving [N, Dim].
func (n *Net) forward(x *tensor.Tensor) *tensor.Tensor {
	x = n.Stem.forward(x)
	x = n.Mixed5d.forward(n.Mixed5c.forward(n.Mixed5b.forward(x)))
	x = n.Mixed6a.forward(x)
	x = n.Mixed6e.forward(n.Mixed6d.forward(n.Mixed6c.forward(n.Mixed6b.forward(x))))
	x = n.Mixed7c.forward(n.Mixed7b.forward(n.Mixed7a.forward(x)))
	return tensor.Mean(x, false, 2, 3)
}
