package cli

import (
	"fmt"
	"runtime"

	"github.com/gantry-go/gantry/internal/version"
)

func init() {
	commands = []command{
		{
			name: "demo", summary: "fine-tune the shipped MNIST GAN on 1,000 Fashion-MNIST images beside training from scratch",
			usage: "gantry demo [--quick] [--iters N] [--json]",
			about: `The main job in one command, on shipped data with no download: fine-tune the shipped MNIST
source on a class-balanced 1,000-image subset of the embedded Fashion-MNIST (the target), train
the same network from scratch with the same budget (120 iterations of batch 16, lr 1e-4), measure
both six times with FID and KID on gantry-gray features against 1,000 held-out Fashion-MNIST
images, and write report.html with both runs side by side. The default is sized for 10 minutes on
two quiet cores; --quick takes about a minute. With --json the last line is one object with
both runs' final metrics and protocols.`,
			examples: `  gantry demo
  gantry demo --quick
  gantry demo --json | tail -n 1
  gantry demo --resume latest          # after Ctrl-C
`,
			new: func() runner { return &demoCmd{} },
		},
		{
			name: "train", summary: "train a GAN from scratch",
			usage: "gantry train --data DIR|IDX|shipped:NAME [--out DIR] [--resolution R --width D --batch B --iters N --seed S ...]",
			about: `Trains a GAN of the paper's ResNet family (WGAN-GP by default) on the images of --data, in a new
numbered folder under --out: checkpoints, stats.jsonl, metric files, fixed-noise grids and
report.html. Ctrl-C writes a checkpoint; --resume continues exactly.`,
			examples: `  gantry train --data shipped:mnist --iters 2000
  gantry train --data ./faces --resolution 64 --channels 3 --width 32 --eval ./faces-heldout
  gantry train --data shipped:mnist --classes 10          # a conditional AC-GAN
  gantry train --resume runs/00002-train-mnist --iters 4000
`,
			new: func() runner { return &trainCmd{} },
		},
		{
			name: "finetune", summary: "adapt a pretrained GAN to a target dataset",
			usage: "gantry finetune --source CKPT|RUNDIR|shipped:NAME --data DIR|IDX|shipped:NAME [--out DIR] [--init both|d|g|scratch ...]",
			about: `Fine-tunes a source GAN on the target images with transfer.FineTune: the paper's defaults (both
networks from the source, Adam lr 1e-5, batch 16) and every policy of that package: FreezeD,
frozen generator blocks, norm-only training, gradual unfreezing, per-prefix learning rates, L2-SP,
EWC, DiffAugment, ADA and conditional transfer. The target takes the source's resolution and
channels.`,
			examples: `  gantry finetune --source shipped:mnist --data shipped:fashion --subset 1000
  gantry finetune --source runs/00001-train-mnist --data ./flowers --freeze-d 2 --diffaugment color,translation
  gantry finetune --data shipped:fashion --subset 1000 --init scratch      # the baseline
  gantry finetune --data shipped:fashion --classes 10 --conditioning batchnorm
  gantry finetune --data shipped:fashion --l2sp 0.01 --lr-mult g.blocks.0.=0.1 --unfreeze 500:d.blocks.
  gantry finetune --resume latest
`,
			new: func() runner { return &finetuneCmd{} },
		},
		{
			name: "sample", summary: "write samples of a model as a grid or as files",
			usage: "gantry sample --model CKPT|RUNDIR|shipped:NAME --out grid.png|DIR [--n 64 --seed S --class K]",
			about: `Draws --n samples from a model's generator (its moving average when it has one) and writes them as
one grid (--out ending in .png) or as one PNG per sample in a folder.`,
			examples: `  gantry sample --model shipped:mnist --out mnist.png
  gantry sample --model runs/00003-finetune-fashion1k --n 16 --out samples/
  gantry sample --model shipped:mnist-cond --class 7 --out sevens.png
`,
			new: func() runner { return &sampleCmd{} },
		},
		{
			name: "eval", summary: "measure a model or a folder of images against real images",
			usage: "gantry eval --model CKPT|RUNDIR|shipped:NAME | --fake DIR  --real DIR|shipped:NAME [--metrics fid,kid,pr,iw --n 1000]",
			about: `Computes FID, KID, precision/recall (on gantry-gray features) and the independent Wasserstein
critic between generated and real images. Every value is printed with its protocol: extractor and
weights, sample counts, resize filter, covariance estimator, KID subsets, seed. The real images
must be held out from training.`,
			examples: `  gantry eval --model runs/00003-finetune-fashion1k --real shipped:fashion-eval
  gantry eval --fake samples/ --real shipped:fashion-eval --metrics fid,kid,pr
  gantry eval --model shipped:mnist --real shipped:mnist-eval --metrics iw --iw-steps 500 --json
`,
			new: func() runner { return &evalCmd{} },
		},
		{
			name: "rank-sources", summary: "score source GANs against a target before fine-tuning",
			usage: "gantry rank-sources --target DIR|shipped:NAME [--sources shipped:mnist,shipped:fashion,CKPT...]",
			about: `Ranks candidate sources by how close their samples are to the target images (FID, KID, recall),
before any fine-tuning, as the paper's section 4.5 proposes: the closest source tends to transfer
best.`,
			examples: `  gantry rank-sources --target shipped:fashion --subset 1000
  gantry rank-sources --target ./my-images --sources shipped:mnist,runs/00001-train-faces
`,
			new: func() runner { return &rankCmd{} },
		},
		{
			name: "dataset", summary: "convert a folder of mixed images into a clean dataset with a manifest",
			usage: "gantry dataset SRC --out DIR --resolution R [--channels 1|3 --filter F --crop --subset N]",
			about: `Reads every PNG, JPEG and GIF under SRC (gray, RGBA, palette, any size; sub-folders are classes),
lists every file it cannot use with the reason before writing anything, and writes the images at
one size and channel count as PNG files under DIR (class folders kept) with manifest.json: each
file's SHA-256 and label, its source file and that file's SHA-256, and the seed of any subset, so a
"1,000-image target" can be rebuilt exactly.`,
			examples: `  gantry dataset ./photos --out ./photos-64 --resolution 64 --crop
  gantry dataset ./scans --out ./scans-32 --resolution 32 --channels 1 --subset 1000 --subset-seed 7
`,
			new: func() runner { return &datasetCmd{} },
		},
		{
			name: "version", summary: "print gantry's version",
			usage:    "gantry version [--json]",
			about:    "Prints gantry's version, the Go version and the platform.",
			examples: "  gantry version\n",
			new:      func() runner { return &versionCmd{} },
		},
	}
}

type versionCmd struct{ outFlags }

func (o *versionCmd) define(f *flags) { o.outFlags.define(f) }

func (o *versionCmd) check(pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	return nil
}

func (o *versionCmd) run(c *call) error {
	c.out = newPrinter(c.env, o.outFlags)
	c.out.result(fmt.Sprintf("gantry %s (%s, %s/%s)", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH),
		map[string]any{"version": version.Version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH})
	return nil
}
