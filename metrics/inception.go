package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/nn"
	"github.com/gantry-go/gantry/tensor"
)

// InceptionName is the name LoadInception gives its extractor, and so the
// label of results computed with pytorch-fid's Inception weights.
const InceptionName = "pytorch-fid-inception-v3"

// inceptionBNEps is the batch-norm epsilon of Inception's BasicConv2d.
const inceptionBNEps = 1e-3

// Inception is InceptionV3 as pytorch-fid uses it for FID: torchvision's
// Inception3 with pytorch-fid's FID-specific blocks (the 3×3 average pools of
// the A, C and E blocks leave the zero padding out of their counts, and the
// last E block pools by maximum), cut at the 2048-dimensional average pool.
// Images are resized to 299×299 bilinearly (align_corners false) and fed as
// they are in [-1, 1] — pytorch-fid's input scaling 2x−1 of images in [0, 1];
// grayscale images are repeated to three channels.
//
// Its weights are the user's: pytorch-fid's published file
// pt_inception-2015-12-05-6726825d.pth, converted to safetensors with
//
//	/usr/bin/python3 scripts/golden/gen_metrics.py --convert pt_inception-2015-12-05-6726825d.pth inception.safetensors
//
// and loaded with LoadInception. With those weights its features are those of
// pytorch-fid (to float32 round-off), so FID computed on them may be compared
// with FID computed by pytorch-fid. The architecture is checked against
// torchvision 0.14 with deterministic weights (TestGoldenInception).
//
// Each batch-norm is folded into its convolution when the weights are loaded.
// An Inception is safe for concurrent use. It is heavy on a CPU: about 5.7
// GFLOP and, at the first layers, 11 MB of activations per image, so keep
// batches small (Options.BatchSize 8-16).
type Inception struct {
	name  string
	convs map[string]*foldedConv
}

// foldedConv is a convolution with its batch-norm folded in, followed by a
// ReLU.
type foldedConv struct {
	w, b *tensor.Tensor
	p    tensor.ConvParams
}

// convSpec describes one BasicConv2d of the network.
type convSpec struct {
	name                  string
	in, out, kh, kw       int
	stride, padH, padW    int
	weightShape, vecShape []int
}

func spec(name string, in, out, kh, kw, stride, padH, padW int) convSpec {
	return convSpec{name: name, in: in, out: out, kh: kh, kw: kw, stride: stride, padH: padH, padW: padW,
		weightShape: []int{out, in, kh, kw}, vecShape: []int{out}}
}

// inceptionSpecs lists every convolution of the network in order.
func inceptionSpecs() []convSpec {
	s := []convSpec{
		spec("Conv2d_1a_3x3", 3, 32, 3, 3, 2, 0, 0),
		spec("Conv2d_2a_3x3", 32, 32, 3, 3, 1, 0, 0),
		spec("Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1, 1),
		spec("Conv2d_3b_1x1", 64, 80, 1, 1, 1, 0, 0),
		spec("Conv2d_4a_3x3", 80, 192, 3, 3, 1, 0, 0),
	}
	a := func(p string, in, pool int) {
		s = append(s,
			spec(p+".branch1x1", in, 64, 1, 1, 1, 0, 0),
			spec(p+".branch5x5_1", in, 48, 1, 1, 1, 0, 0),
			spec(p+".branch5x5_2", 48, 64, 5, 5, 1, 2, 2),
			spec(p+".branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0),
			spec(p+".branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1),
			spec(p+".branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1),
			spec(p+".branch_pool", in, pool, 1, 1, 1, 0, 0))
	}
	c := func(p string, c7 int) {
		s = append(s,
			spec(p+".branch1x1", 768, 192, 1, 1, 1, 0, 0),
			spec(p+".branch7x7_1", 768, c7, 1, 1, 1, 0, 0),
			spec(p+".branch7x7_2", c7, c7, 1, 7, 1, 0, 3),
			spec(p+".branch7x7_3", c7, 192, 7, 1, 1, 3, 0),
			spec(p+".branch7x7dbl_1", 768, c7, 1, 1, 1, 0, 0),
			spec(p+".branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0),
			spec(p+".branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3),
			spec(p+".branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0),
			spec(p+".branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3),
			spec(p+".branch_pool", 768, 192, 1, 1, 1, 0, 0))
	}
	e := func(p string, in int) {
		s = append(s,
			spec(p+".branch1x1", in, 320, 1, 1, 1, 0, 0),
			spec(p+".branch3x3_1", in, 384, 1, 1, 1, 0, 0),
			spec(p+".branch3x3_2a", 384, 384, 1, 3, 1, 0, 1),
			spec(p+".branch3x3_2b", 384, 384, 3, 1, 1, 1, 0),
			spec(p+".branch3x3dbl_1", in, 448, 1, 1, 1, 0, 0),
			spec(p+".branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1),
			spec(p+".branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1),
			spec(p+".branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0),
			spec(p+".branch_pool", in, 192, 1, 1, 1, 0, 0))
	}
	a("Mixed_5b", 192, 32)
	a("Mixed_5c", 256, 64)
	a("Mixed_5d", 288, 64)
	s = append(s,
		spec("Mixed_6a.branch3x3", 288, 384, 3, 3, 2, 0, 0),
		spec("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1, 1, 0, 0),
		spec("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1),
		spec("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0))
	c("Mixed_6b", 128)
	c("Mixed_6c", 160)
	c("Mixed_6d", 160)
	c("Mixed_6e", 192)
	s = append(s,
		spec("Mixed_7a.branch3x3_1", 768, 192, 1, 1, 1, 0, 0),
		spec("Mixed_7a.branch3x3_2", 192, 320, 3, 3, 2, 0, 0),
		spec("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1, 1, 0, 0),
		spec("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3),
		spec("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0),
		spec("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0))
	e("Mixed_7b", 1280)
	e("Mixed_7c", 2048)
	return s
}

// inceptionKeys lists the state-dict names the network needs, with shapes.
func inceptionKeys() (names []string, shapes [][]int) {
	for _, s := range inceptionSpecs() {
		names = append(names, s.name+".conv.weight")
		shapes = append(shapes, s.weightShape)
		for _, k := range []string{"weight", "bias", "running_mean", "running_var"} {
			names = append(names, s.name+".bn."+k)
			shapes = append(shapes, s.vecShape)
		}
	}
	return names, shapes
}

// NewInception returns the network with the weights in sd, named by
// torchvision's Inception3 state dict ("Conv2d_1a_3x3.conv.weight",
// "Mixed_5b.branch1x1.bn.running_var", ...), as in pytorch-fid's weight file.
// Other entries (fc, AuxLogits, num_batches_tracked) are ignored. name labels
// the results (InceptionName for pytorch-fid's weights).
//
// It returns an error listing every missing or mis-shaped entry.
func NewInception(sd nn.State, name string) (*Inception, error) {
	var problems []string
	names, shapes := inceptionKeys()
	for i, k := range names {
		t, ok := sd[k]
		switch {
		case !ok || t == nil:
			problems = append(problems, "missing "+k)
		case !slices.Equal(t.Shape(), shapes[i]):
			problems = append(problems, fmt.Sprintf("%s has shape %v, want %v", k, t.Shape(), shapes[i]))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("metrics: NewInception: " + strings.Join(problems, "; "))
	}
	m := &Inception{name: name, convs: map[string]*foldedConv{}}
	for _, s := range inceptionSpecs() {
		w := sd[s.name+".conv.weight"].Data()
		gamma := sd[s.name+".bn.weight"].Data()
		beta := sd[s.name+".bn.bias"].Data()
		mean := sd[s.name+".bn.running_mean"].Data()
		vr := sd[s.name+".bn.running_var"].Data()
		fw := make([]float32, len(w))
		fb := make([]float32, s.out)
		per := len(w) / s.out
		for o := range s.out {
			scale := float64(gamma[o]) / math.Sqrt(float64(vr[o])+inceptionBNEps)
			for j := range per {
				fw[o*per+j] = float32(float64(w[o*per+j]) * scale)
			}
			fb[o] = float32(float64(beta[o]) - float64(mean[o])*scale)
		}
		m.convs[s.name] = &foldedConv{
			w: tensor.FromSlice(fw, s.weightShape...),
			b: tensor.FromSlice(fb, s.out),
			p: tensor.ConvParams{Stride: [2]int{s.stride, s.stride}, Padding: [2]int{s.padH, s.padW}},
		}
	}
	return m, nil
}

// LoadInception reads pytorch-fid's Inception weights from a safetensors file
// (see Inception for the conversion) and returns the extractor, named
// InceptionName. Errors name the file.
func LoadInception(path string) (*Inception, error) {
	sd, _, err := nn.LoadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := NewInception(sd, InceptionName)
	if err != nil {
		return nil, fmt.Errorf("metrics: LoadInception: %s: %w", path, err)
	}
	return m, nil
}

// Name returns the name the network was made with.
func (m *Inception) Name() string { return m.name }

// Dim returns 2048.
func (m *Inception) Dim() int { return 2048 }

// Features returns the [N, 2048] pool features of [N, C, H, W] images in
// [-1, 1] (C is 1 or 3).
//
// It panics if images is not four-dimensional with 1 or 3 channels.
func (m *Inception) Features(images *tensor.Tensor) *tensor.Tensor {
	s := images.Shape()
	if len(s) != 4 || (s[1] != 1 && s[1] != 3) {
		panic(fmt.Sprintf("metrics: Inception.Features: images of shape %v; want [N, 1 or 3, H, W]", s))
	}
	x := images
	if s[1] == 1 {
		x = tensor.Concat(1, x, x, x)
	}
	x = resizeBilinear(x, 299, 299)
	x, _ = m.forward(x)
	return x
}

// forward runs the network on [N, 3, 299, 299] input and returns the pool
// features and, for tests, the spatial means after the first three blocks.
func (m *Inception) forward(x *tensor.Tensor) (*tensor.Tensor, [3]*tensor.Tensor) {
	var means [3]*tensor.Tensor
	x = m.conv("Conv2d_1a_3x3", x)
	x = m.conv("Conv2d_2a_3x3", x)
	x = m.conv("Conv2d_2b_3x3", x)
	x = maxPool3(x, 2, 0)
	means[0] = tensor.Mean(x, false, 2, 3)
	x = m.conv("Conv2d_3b_1x1", x)
	x = m.conv("Conv2d_4a_3x3", x)
	x = maxPool3(x, 2, 0)
	means[1] = tensor.Mean(x, false, 2, 3)
	for _, p := range []string{"Mixed_5b", "Mixed_5c", "Mixed_5d"} {
		x = m.blockA(p, x)
	}
	x = m.blockB("Mixed_6a", x)
	for _, p := range []string{"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"} {
		x = m.blockC(p, x)
	}
	means[2] = tensor.Mean(x, false, 2, 3)
	x = m.blockD("Mixed_7a", x)
	x = m.blockE("Mixed_7b", x, false)
	x = m.blockE("Mixed_7c", x, true)
	return tensor.Mean(x, false, 2, 3), means
}

// conv applies the folded convolution name and a ReLU.
func (m *Inception) conv(name string, x *tensor.Tensor) *tensor.Tensor {
	c := m.convs[name]
	y := tensor.Conv2d(x, c.w, c.p)
	s := y.Shape()
	plane := s[2] * s[3]
	d, b := y.Data(), c.b.Data()
	for i := range s[0] * s[1] {
		bias := b[i%s[1]]
		row := d[i*plane : (i+1)*plane]
		for j, v := range row {
			row[j] = max(v+bias, 0)
		}
	}
	return y
}

func (m *Inception) blockA(p string, x *tensor.Tensor) *tensor.Tensor {
	b1 := m.conv(p+".branch1x1", x)
	b5 := m.conv(p+".branch5x5_2", m.conv(p+".branch5x5_1", x))
	b3 := m.conv(p+".branch3x3dbl_3", m.conv(p+".branch3x3dbl_2", m.conv(p+".branch3x3dbl_1", x)))
	bp := m.conv(p+".branch_pool", avgPool3Same(x))
	return tensor.Concat(1, b1, b5, b3, bp)
}

func (m *Inception) blockB(p string, x *tensor.Tensor) *tensor.Tensor {
	b3 := m.conv(p+".branch3x3", x)
	bd := m.conv(p+".branch3x3dbl_3", m.conv(p+".branch3x3dbl_2", m.conv(p+".branch3x3dbl_1", x)))
	return tensor.Concat(1, b3, bd, maxPool3(x, 2, 0))
}

func (m *Inception) blockC(p string, x *tensor.Tensor) *tensor.Tensor {
	b1 := m.conv(p+".branch1x1", x)
	b7 := m.conv(p+".branch7x7_3", m.conv(p+".branch7x7_2", m.conv(p+".branch7x7_1", x)))
	bd := m.conv(p+".branch7x7dbl_1", x)
	for _, k := range []string{"_2", "_3", "_4", "_5"} {
		bd = m.conv(p+".branch7x7dbl"+k, bd)
	}
	bp := m.conv(p+".branch_pool", avgPool3Same(x))
	return tensor.Concat(1, b1, b7, bd, bp)
}

func (m *Inception) blockD(p string, x *tensor.Tensor) *tensor.Tensor {
	b3 := m.conv(p+".branch3x3_2", m.conv(p+".branch3x3_1", x))
	b7 := m.conv(p+".branch7x7x3_1", x)
	for _, k := range []string{"_2", "_3", "_4"} {
		b7 = m.conv(p+".branch7x7x3"+k, b7)
	}
	return tensor.Concat(1, b3, b7, maxPool3(x, 2, 0))
}

func (m *Inception) blockE(p string, x *tensor.Tensor, maxPool bool) *tensor.Tensor {
	b1 := m.conv(p+".branch1x1", x)
	b3 := m.conv(p+".branch3x3_1", x)
	b3 = tensor.Concat(1, m.conv(p+".branch3x3_2a", b3), m.conv(p+".branch3x3_2b", b3))
	bd := m.conv(p+".branch3x3dbl_2", m.conv(p+".branch3x3dbl_1", x))
	bd = tensor.Concat(1, m.conv(p+".branch3x3dbl_3a", bd), m.conv(p+".branch3x3dbl_3b", bd))
	var pooled *tensor.Tensor
	if maxPool {
		pooled = maxPool3(x, 1, 1)
	} else {
		pooled = avgPool3Same(x)
	}
	return tensor.Concat(1, b1, b3, bd, m.conv(p+".branch_pool", pooled))
}
