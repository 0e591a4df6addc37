package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/transfer"
)

// rankCmd is `gantry rank-sources`.
type rankCmd struct {
	outFlags
	target  dataFlags
	Sources string
	N       int
	Seed    uint64
}

const defaultSources = "shipped:mnist,shipped:fashion"

func (o *rankCmd) define(f *flags) {
	o.outFlags.define(f)
	o.target.define(f, "target", "target images: a folder, an IDX file or shipped:NAME", 0)
	f.String(&o.Sources, "sources", defaultSources, "candidate sources, comma-separated: model files, run folders or shipped:NAME")
	f.Int(&o.N, "n", 0, "images drawn from each source (0: as many as the target holds)")
	f.Uint64(&o.Seed, "seed", 1, "seed of the samples and KID's subsets")
}

func (o *rankCmd) check(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if err := o.target.check("target", true); err != nil {
		return err
	}
	if len(list(o.Sources)) == 0 {
		return errors.New("--sources names no source")
	}
	return inRange("n", o.N, 0, 1_000_000)
}

func (o *rankCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	var cands []transfer.Candidate
	res, ch := o.target.Resolution, o.target.Channels
	for _, spec := range list(o.Sources) {
		m, _, err := openModel("sources", spec)
		if err != nil {
			// The default list names every shipped source; one not
			// shipped yet is passed over, with a note.
			if o.Sources == defaultSources && strings.Contains(err.Error(), "not shipped") {
				c.out.info("passing over %s: not shipped in this version", spec)
				continue
			}
			return err
		}
		if res == 0 {
			res, ch = m.Config.Resolution, m.Config.Channels
		}
		if m.Config.Resolution != res || m.Config.Channels != ch {
			return fmt.Errorf("--sources %s makes %dx%d images with %d channels, the target is %dx%d with %d; rank sources of one size at a time", spec, m.Config.Resolution, m.Config.Resolution, m.Config.Channels, res, res, ch)
		}
		cands = append(cands, transfer.Candidate{Name: spec, Model: m})
	}
	if len(cands) == 0 {
		return errors.New("no source to rank: none of the shipped sources is in this version; give --sources FILE[,FILE]")
	}
	target, err := o.target.open(o.target.Spec, res, ch)
	if err != nil {
		return fmt.Errorf("--target: %w", err)
	}
	reportSkipped(c, target)
	n := o.N
	if n == 0 {
		n = target.Len()
	}
	if err := enoughSamples([]string{"fid", "kid", "pr"}, target.Len(), n, metrics.DefaultK); err != nil {
		return err
	}
	c.out.info("ranking %d sources against %d images of %s", len(cands), target.Len(), o.target.Spec)
	rs, err := transfer.RankSources(cands, target.Dataset, transfer.RankOptions{Samples: n, Seed: o.Seed})
	if err != nil {
		return err
	}
	proto := Protocol{Extractor: metrics.GrayName, Fingerprint: fingerprint(metrics.Gray(), ch), Real: target.Desc, Resize: target.Resize, Seed: o.Seed}
	var b strings.Builder
	fmt.Fprintf(&b, "sources against %s, best first (lower FID and KID, higher recall are better):\n", o.target.Spec)
	var rows []map[string]any
	for i, r := range rs {
		ms := []Measured{measure(r.FID, proto), measure(r.KID, proto), measure(r.Recall, proto)}
		fmt.Fprintf(&b, "%d. %s\n", i+1, r.Name)
		for _, m := range ms {
			fmt.Fprintf(&b, "   %s\n", m)
		}
		rows = append(rows, map[string]any{"rank": i + 1, "source": r.Name, "metrics": ms})
	}
	c.out.result(b.String(), map[string]any{"target": o.target.Spec, "ranking": rows})
	return nil
}
