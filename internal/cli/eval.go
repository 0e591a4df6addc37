package cli

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/tensor"
)

// evalCmd is `gantry eval`.
type evalCmd struct {
	outFlags
	Model         string
	Fake          string
	real          dataFlags
	Metrics       string
	N             int
	Seed          uint64
	KIDSubsets    int
	KIDSubsetSize int
	K             int
	IWSteps       int

	metrics []string
}

func (o *evalCmd) define(f *flags) {
	o.outFlags.define(f)
	f.String(&o.Model, "model", "", "the model to measure: a model file, a run folder or shipped:NAME")
	f.String(&o.Fake, "fake", "", "instead of --model: a folder of generated images")
	o.real.define(f, "real", "real images to compare with: a folder, an IDX file or shipped:NAME (held out from training)", 0)
	f.String(&o.Metrics, "metrics", "fid,kid", "metrics: fid, kid, pr (precision and recall), iw (independent Wasserstein critic)")
	f.Int(&o.N, "n", 1000, "generated images to measure (with --fake: at most this many of the folder)")
	f.Uint64(&o.Seed, "seed", 1, "seed of the samples, KID's subsets and IW's critic")
	f.Int(&o.KIDSubsets, "kid-subsets", 100, "KID: number of random subsets averaged")
	f.Int(&o.KIDSubsetSize, "kid-subset-size", 1000, "KID: vectors drawn from each set per subset (capped at the smaller set)")
	f.Int(&o.K, "k", metrics.DefaultK, "precision and recall: neighbourhood size")
	f.Int(&o.IWSteps, "iw-steps", 1000, "IW: critic updates")
}

func (o *evalCmd) check(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if (o.Model == "") == (o.Fake == "") {
		return errors.New("give one of --model (a model to sample) or --fake (a folder of generated images)")
	}
	if err := o.real.check("real", true); err != nil {
		return err
	}
	o.metrics = list(o.Metrics)
	if len(o.metrics) == 0 {
		return errors.New("--metrics names no metric: want some of fid, kid, pr, iw")
	}
	for _, m := range o.metrics {
		if err := oneOf("metrics", m, "fid", "kid", "pr", "iw"); err != nil {
			return err
		}
	}
	for _, c := range []error{inRange("n", o.N, 1, 1_000_000), inRange("kid-subsets", o.KIDSubsets, 1, 100_000),
		inRange("kid-subset-size", o.KIDSubsetSize, 2, 1_000_000), inRange("k", o.K, 1, 1000), inRange("iw-steps", o.IWSteps, 1, 1_000_000)} {
		if c != nil {
			return c
		}
	}
	if o.Fake != "" && contains(o.metrics, "iw") {
		return errors.New("--metrics iw measures a model: it needs --model, not --fake")
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, e := range xs {
		if e == x {
			return true
		}
	}
	return false
}

func (o *evalCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	res, ch := o.real.Resolution, o.real.Channels
	var sampler metrics.Sampler
	var what string
	n := o.N
	if o.Model != "" {
		m, path, err := openModel("model", o.Model)
		if err != nil {
			return err
		}
		if res != 0 && res != m.Config.Resolution || ch != 0 && ch != m.Config.Channels {
			return fmt.Errorf("the model %s makes %dx%d images with %d channels; drop --resolution and --channels to take its size", path, m.Config.Resolution, m.Config.Resolution, m.Config.Channels)
		}
		res, ch = m.Config.Resolution, m.Config.Channels
		sampler, what = m.Sampler().Sample, path
	} else {
		if res == 0 {
			res = 32
		}
		fake, err := (&dataFlags{Filter: o.real.Filter, Crop: o.real.Crop}).open(o.Fake, res, ch)
		if err != nil {
			return fmt.Errorf("--fake: %w", err)
		}
		ch = fake.Channels
		n = min(n, fake.Len())
		sampler, what = datasetSampler(fake.Dataset), o.Fake
	}
	real, err := o.real.open(o.real.Spec, res, ch)
	if err != nil {
		return fmt.Errorf("--real: %w", err)
	}
	reportSkipped(c, real)
	if err := enoughSamples(o.metrics, real.Len(), n, o.K); err != nil {
		return err
	}
	ext := metrics.Gray()
	proto := Protocol{Extractor: ext.Name(), Fingerprint: fingerprint(ext, ch), Real: real.Desc, Resize: real.Resize, Seed: o.Seed}
	mo := metrics.Options{KID: metrics.KIDOptions{Subsets: o.KIDSubsets, SubsetSize: o.KIDSubsetSize}, K: o.K}
	r := rand.New(rand.NewPCG(o.Seed, 0xe7a1))
	var out []Measured
	if contains(o.metrics, "fid") || contains(o.metrics, "kid") || contains(o.metrics, "pr") {
		c.out.info("measuring %s against %s: %d real and %d generated images", what, o.real.Spec, real.Len(), n)
		rf := metrics.DatasetFeatures(ext, real.Dataset, mo)
		ff := metrics.SampleFeatures(ext, sampler, n, r, mo)
		rep := metrics.Compare(rf, ff, r, mo)
		if contains(o.metrics, "fid") {
			out = append(out, measure(rep.FID, proto))
		}
		if contains(o.metrics, "kid") {
			out = append(out, measure(rep.KID, proto))
		}
		if contains(o.metrics, "pr") {
			out = append(out, measure(rep.Precision, proto), measure(rep.Recall, proto))
		}
	}
	if contains(o.metrics, "iw") {
		c.out.info("training IW's critic for %d steps on half of %s", o.IWSteps, o.real.Spec)
		train, held := data.Split(real.Dataset, real.Len()/2, r)
		iw, err := metrics.IW(sampler, train, held, r, metrics.IWOptions{Steps: o.IWSteps, Samples: n})
		if err != nil {
			return err
		}
		p := proto
		p.Real = real.Desc + " (half trains the critic, half evaluates)"
		out = append(out, measure(iw, p))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s against %s:\n", what, o.real.Spec)
	for _, m := range out {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	c.out.result(b.String(), map[string]any{"model": what, "metrics": out})
	return nil
}

// datasetSampler draws images of a dataset at random, with replacement
// once the dataset is used up, as a metrics.Sampler over a folder of
// generated images. It takes the images in a fixed random order, so n
// images of a dataset of n are all of them.
func datasetSampler(ds data.Dataset) metrics.Sampler {
	var order []int
	pos := 0
	return func(n int, r *rand.Rand) *tensor.Tensor {
		shape := data.ImageShape(ds)
		per := shape[0] * shape[1] * shape[2]
		x := tensor.New(n, shape[0], shape[1], shape[2])
		for i := 0; i < n; i++ {
			if pos == len(order) {
				order, pos = r.Perm(ds.Len()), 0
			}
			dst := x.Data()[i*per : (i+1)*per]
			if cp, ok := ds.(data.Copier); ok {
				cp.CopyImage(dst, order[pos])
			} else {
				copy(dst, ds.Image(order[pos]).Data())
			}
			pos++
		}
		return x
	}
}
