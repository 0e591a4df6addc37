package metrics

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/tensor"
)

// Extractor maps images to feature vectors, the space in which FID, KID and
// precision/recall compare two sets of images.
//
// Features takes an [N, C, H, W] tensor of images with values in [-1, 1] and
// returns an [N, Dim] tensor. It must not modify its argument, must return a
// plain tensor (any autograd graph it records is then garbage; it must not
// use autograd.NoGrad, which is process-wide), must be deterministic, and must be safe for concurrent calls: the functions of this
// package extract several batches at once. Name identifies the network and
// its weights ("gantry-gray", "inception-v3-pytorch-fid"); every result is
// labelled with it.
type Extractor interface {
	Name() string
	Dim() int
	Features(images *tensor.Tensor) *tensor.Tensor
}

// Sampler draws n images from a model: an [n, C, H, W] tensor with values in
// [-1, 1], its randomness taken from r. Any generator can be measured by
// wrapping it, for instance
//
//	func(n int, r *rand.Rand) *tensor.Tensor {
//		return g.Forward(autograd.Const(tensor.RandN(r, n, 128))).Value
//	}
//
// The functions of this package call a Sampler from one goroutine at a time,
// in order, so the same r state gives the same images.
type Sampler func(n int, r *rand.Rand) *tensor.Tensor

// Options configures feature extraction and the metrics of Evaluate. The zero
// value gives the defaults.
type Options struct {
	// BatchSize is the number of images per batch; 0 means 50.
	BatchSize int
	// Workers is the number of batches whose features are computed at the
	// same time, while the next batch is sampled or copied; 0 means
	// GOMAXPROCS, at most 4. At most Workers+1 batches of images are held.
	Workers int
	// KID configures KID in Evaluate and Compare.
	KID KIDOptions
	// K is the neighbourhood size of precision and recall; 0 means DefaultK.
	K int
}

func (o Options) withDefaults(op string) Options {
	if o.BatchSize < 0 || o.Workers < 0 || o.K < 0 {
		panic(fmt.Sprintf("metrics: %s: options %+v; want no negative values", op, o))
	}
	if o.BatchSize == 0 {
		o.BatchSize = 50
	}
	if o.Workers == 0 {
		o.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	if o.K == 0 {
		o.K = DefaultK
	}
	return o
}

// SampleFeatures draws n images from s in batches of o.BatchSize and returns
// their features under ext. Sampling happens in the calling goroutine;
// feature extraction of up to o.Workers batches runs concurrently with it.
// Features are added in sampling order, so the result depends only on r's
// state, not on scheduling.
//
// It panics if n < 1, o holds negative values, r is nil, s returns a tensor
// that is not [b, C, H, W] for the b images asked, or ext returns a tensor
// that is not [b, ext.Dim()]. A panic of s or ext is raised in the calling
// goroutine.
func SampleFeatures(ext Extractor, s Sampler, n int, r *rand.Rand, o Options) *Features {
	const op = "SampleFeatures"
	o = o.withDefaults(op)
	if n < 1 {
		panic(fmt.Sprintf("metrics: %s: n = %d; want at least 1", op, n))
	}
	if r == nil {
		panic("metrics: SampleFeatures: nil *rand.Rand")
	}
	return stream(op, ext, n, o, func(start, b int) *tensor.Tensor {
		x := s(b, r)
		if sh := x.Shape(); len(sh) != 4 || sh[0] != b {
			panic(fmt.Sprintf("metrics: %s: sampler returned shape %v for %d images; want [%d, C, H, W]", op, sh, b, b))
		}
		return x
	})
}

// DatasetFeatures returns the features under ext of every image of ds, taken
// in index order in batches of o.BatchSize; extraction of up to o.Workers
// batches runs concurrently with the copying of the next.
//
// It panics if ds is empty, o holds negative values, or ext returns a tensor
// that is not [b, ext.Dim()]; a panic of ext is raised in the calling
// goroutine.
func DatasetFeatures(ext Extractor, ds data.Dataset, o Options) *Features {
	const op = "DatasetFeatures"
	o = o.withDefaults(op)
	n := ds.Len()
	if n == 0 {
		panic("metrics: DatasetFeatures: empty dataset")
	}
	shape := data.ImageShape(ds)
	per := shape[0] * shape[1] * shape[2]
	cp, _ := ds.(data.Copier)
	return stream(op, ext, n, o, func(start, b int) *tensor.Tensor {
		buf := make([]float32, b*per)
		for i := range b {
			dst := buf[i*per : (i+1)*per]
			if cp != nil {
				cp.CopyImage(dst, start+i)
			} else {
				copy(dst, ds.Image(start+i).Data())
			}
		}
		return tensor.FromSlice(buf, b, shape[0], shape[1], shape[2])
	})
}

// stream computes the features of n images made batch by batch by next
// (called in this goroutine, in order, with the index of the batch's first
// image and its size), extracting up to o.Workers batches concurrently and
// adding their features in order.
func stream(op string, ext Extractor, n int, o Options, next func(start, b int) *tensor.Tensor) *Features {
	dim := ext.Dim()
	f := NewFeatures(ext.Name(), dim)
	type result struct {
		feats *tensor.Tensor
		b     int
		err   any
	}
	var queue []chan result
	var failure any
	collect := func() {
		res := <-queue[0]
		queue = queue[1:]
		if res.err != nil {
			if failure == nil {
				failure = res.err
			}
			return
		}
		if failure == nil {
			if sh := res.feats.Shape(); len(sh) != 2 || sh[0] != res.b || sh[1] != dim {
				failure = fmt.Sprintf("metrics: %s: extractor %q returned shape %v for %d images; want [%d, %d]", op, ext.Name(), sh, res.b, res.b, dim)
				return
			}
			f.Add(res.feats)
		}
	}
	defer func() {
		// Wait for every extraction still running (also when next panics),
		// then re-raise a worker's panic here.
		for len(queue) > 0 {
			collect()
		}
		if failure != nil {
			panic(failure)
		}
	}()
	for start := 0; start < n && failure == nil; start += o.BatchSize {
		b := min(o.BatchSize, n-start)
		x := next(start, b)
		ch := make(chan result, 1)
		queue = append(queue, ch)
		go func() {
			defer func() {
				if e := recover(); e != nil {
					ch <- result{err: e}
				}
			}()
			ch <- result{feats: ext.Features(x), b: b}
		}()
		if len(queue) >= o.Workers {
			collect()
		}
	}
	return f
}

// Report holds the feature-space metrics between a real and a generated set.
type Report struct {
	FID, KID, Precision, Recall Result
}

// String formats the report, one metric a line.
func (r Report) String() string {
	return strings.Join([]string{r.FID.String(), r.KID.String(), r.Precision.String(), r.Recall.String()}, "\n")
}

// Compare returns FID, KID (with o.KID and r) and precision/recall (with o.K)
// between real and generated features. Reusing real's features across
// comparisons (one generator over training, or several generators) saves
// extracting them again.
//
// It panics as FID, KID and PrecisionRecall do.
func Compare(real, gen *Features, r *rand.Rand, o Options) Report {
	o = o.withDefaults("Compare")
	var rep Report
	rep.FID = FID(real.Stats(), gen.Stats())
	rep.KID = KID(real, gen, o.KID, r)
	rep.Precision, rep.Recall = PrecisionRecall(real, gen, o.K)
	return rep
}

// Evaluate measures a generator against a dataset: it extracts the features
// of every image of real and of n samples of gen (see DatasetFeatures and
// SampleFeatures), then compares them (see Compare). r drives both the
// sampler and KID's subsets.
//
// It panics as those functions do.
func Evaluate(ext Extractor, real data.Dataset, gen Sampler, n int, r *rand.Rand, o Options) Report {
	rf := DatasetFeatures(ext, real, o)
	gf := SampleFeatures(ext, gen, n, r, o)
	return Compare(rf, gf, r, o)
}

// Pixels is the trivial extractor: an image's features are its pixel values,
// flattened. It suits tests and tiny images; distances in pixel space say
// little about image quality.
type Pixels struct {
	// C, H and W are the image shape the extractor accepts.
	C, H, W int
}

// Name returns "pixels".
func (Pixels) Name() string { return "pixels" }

// Dim returns C*H*W.
func (p Pixels) Dim() int { return p.C * p.H * p.W }

// Features returns images flattened to [N, C*H*W], copied.
//
// It panics if images is not [N, C, H, W] of the extractor's shape.
func (p Pixels) Features(images *tensor.Tensor) *tensor.Tensor {
	sh := images.Shape()
	if len(sh) != 4 || !slices.Equal(sh[1:], []int{p.C, p.H, p.W}) {
		panic(fmt.Sprintf("metrics: Pixels.Features: images of shape %v; want [N, %d, %d, %d]", sh, p.C, p.H, p.W))
	}
	return images.Clone().Reshape(sh[0], p.Dim())
}

// Evaluator measures generators against one real dataset whose features it
// extracts once, as during training, where the same data is compared with
// the generator every few hundred iterations.
type Evaluator struct {
	ext  Extractor
	real *Features
	opts Options
}

// NewEvaluator extracts the features of every image of real with ext (see
// DatasetFeatures) and keeps them with o for later evaluations.
//
// It panics as DatasetFeatures does.
func NewEvaluator(ext Extractor, real data.Dataset, o Options) *Evaluator {
	return &Evaluator{ext: ext, real: DatasetFeatures(ext, real, o), opts: o}
}

// Real returns the features of the real images. The caller must not add to
// them.
func (e *Evaluator) Real() *Features { return e.real }

// Evaluate draws n images from gen and compares their features with the real
// ones (see SampleFeatures and Compare); r drives the sampler and KID.
//
// It panics as those functions do.
func (e *Evaluator) Evaluate(gen Sampler, n int, r *rand.Rand) Report {
	return Compare(e.real, SampleFeatures(e.ext, gen, n, r, e.opts), r, e.opts)
}
