// Command trainsource trains the source GANs that package sources ships, with
// gan's trainer, from the full MNIST and Fashion-MNIST training sets
// (scripts/data/fetch_full.sh fetches them):
//
//	go run ./internal/cmd/trainsource -source mnist -out runs/source-mnist
//	go run ./internal/cmd/trainsource -source fashion -out runs/source-fashion
//	go run ./internal/cmd/trainsource -source mnist-cond -out runs/source-mnist-cond
//
// Every setting but the folders is fixed here, so the command is the
// record of how a shipped source was made. mnist-cond starts from the
// shipped mnist source (sources/models/README.md says why). A run resumes
// exactly from the latest checkpoint in -out (a run may span several sessions); -iters may
// raise the target of a run in progress.
//
// With -ship DIR it trains nothing: it takes the latest checkpoint of -out,
// writes it to DIR/NAME.safetensors in float16 (gan.SaveHalf), measures it
// with sources.Evaluate (and the float32 weights, to check the rounding),
// writes DIR/NAME.json (sources.Record), a sample grid DIR/NAME.png and the
// model's section of DIR/README.md:
//
//	go run ./internal/cmd/trainsource -source mnist -out runs/source-mnist -ship sources/models
//
// With -check it retrains the first iterations of a shipped source (its
// record's Check.Iteration, 100) in a temporary folder and compares the
// model's checksum with the record, bit for bit. The arithmetic depends on
// the kernels' instruction set and the number of threads, so the check runs
// with those of the record (GANTRY_CPU_CAPABILITY and GOMAXPROCS; it
// restarts itself to set the first), which any AVX2 machine can match:
//
//	go run ./internal/cmd/trainsource -source mnist -check
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/internal/kernels"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/transfer"
)

// source is one shipped source model's recipe.
type source struct {
	dir     string // folder under -data
	classes []string
	eval    func(...data.Option) (*data.Memory, error)
	cfg     gan.Config
	seed    uint64
	// from names the shipped source the model starts from (transfer.Target
	// with both networks); empty means fresh weights.
	from string
	// lrScale is the trainer's learning-rate multiplier by parameter
	// (gan.Hooks.LRScale); nil means 1 for all.
	lrScale func(name string) float64
	// start says, for the README, how the model starts when it is not
	// from fresh weights.
	start string
}

// classTablesFaster runs the generator's conditional batch-norm tables
// (g.blocks.*.norm*, g.norm) at 10 times the learning rate: they start as
// copies of the unconditional source's batch norm, the same for every class,
// and Adam moves an entry by about one learning rate a step, so at 1e-4 they
// could drift apart by no more than 0.1 in the 1,000 iterations of the budget.
func classTablesFaster(name string) float64 {
	if strings.HasPrefix(name, "g.") && strings.Contains(name, "norm") {
		return 10
	}
	return 1
}

var recipes = map[string]source{
	"mnist": {dir: "mnist", classes: shipped.DigitClasses, eval: shipped.MNISTEval,
		cfg: gan.Config{Resolution: 32, Channels: 1, Width: 16}, seed: 1},
	"fashion": {dir: "fashion-mnist", classes: shipped.FashionClasses, eval: shipped.FashionMNISTEval,
		cfg: gan.Config{Resolution: 32, Channels: 1, Width: 16}, seed: 2},
	"mnist-cond": {dir: "mnist", classes: shipped.DigitClasses, eval: shipped.MNISTEval,
		cfg: gan.Config{Resolution: 32, Channels: 1, Width: 16, Classes: 10, Conditioning: gan.CondBatchNorm}, seed: 3,
		from: sources.NameMNIST, lrScale: classTablesFaster,
		start: "the shipped mnist source made conditional by transfer.Target (G and D copied; every class's batch-norm scale and shift in G start as copies of the source's; a new, random class head in D); G's class tables then train at 10 times the learning rate (1e-3)"},
}

func main() {
	name := flag.String("source", "", "mnist, fashion or mnist-cond")
	home, _ := os.UserHomeDir()
	dataDir := flag.String("data", filepath.Join(home, ".cache", "gantry"), "folder holding mnist/ and fashion-mnist/ from scripts/data/fetch_full.sh")
	out := flag.String("out", "", "run folder (resumed when it holds a checkpoint)")
	iters := flag.Int("iters", 1000, "iterations to reach (1000: about 80 minutes on a 2-core Zen 3, the budget of a source)")
	ship := flag.String("ship", "", "write the latest checkpoint of -out as a shipped source into this folder")
	check := flag.Bool("check", false, "retrain the first iterations of the shipped source and compare its checksum")
	flag.Parse()
	src, ok := recipes[*name]
	if *check && ok {
		if err := checkSource(*name, src, *dataDir); err != nil {
			fmt.Fprintln(os.Stderr, "trainsource:", err)
			os.Exit(1)
		}
		return
	}
	if !ok || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: trainsource -source mnist|fashion|mnist-cond -out DIR [-iters N] [-data DIR]")
		os.Exit(2)
	}
	if *ship != "" {
		if err := shipSource(*name, src, *out, *ship); err != nil {
			fmt.Fprintln(os.Stderr, "trainsource:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(src, *dataDir, *out, *iters); err != nil {
		fmt.Fprintln(os.Stderr, "trainsource:", err)
		os.Exit(1)
	}
}

// checkSource retrains the first iterations of a shipped source and compares
// the model's checksum with its record.
func checkSource(name string, src source, dataDir string) error {
	rec, err := sources.Recorded(name)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "trainsource-check")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if k := rec.Check.Kernels; k != "" && kernels.Capability() != k {
		if os.Getenv(kernels.EnvCapability) != "" {
			return fmt.Errorf("%s was recorded with the %s kernels; this machine runs %s (%s=%s): its checksum cannot match", name, k, kernels.Capability(), kernels.EnvCapability, os.Getenv(kernels.EnvCapability))
		}
		return restartWith(kernels.EnvCapability + "=" + k)
	}
	if n := rec.Check.Threads; n > 0 {
		runtime.GOMAXPROCS(n)
	}
	fmt.Printf("%s: retraining %d iterations with the %s kernels on %d threads\n", name, rec.Check.Iteration, kernels.Capability(), runtime.GOMAXPROCS(0))
	if err := run(src, dataDir, dir, rec.Check.Iteration); err != nil {
		return err
	}
	m, err := gan.Load(filepath.Join(dir, gan.CheckpointName(rec.Check.Iteration)))
	if err != nil {
		return err
	}
	got := gan.Checksum(m.StateDict())
	if got != rec.Check.SHA256 {
		return fmt.Errorf("%s after %d iterations: checksum %s, the record says %s", name, rec.Check.Iteration, got, rec.Check.SHA256)
	}
	fmt.Printf("%s: the first %d iterations reproduce bit for bit (sha256 %s)\n", name, rec.Check.Iteration, got)
	return nil
}

// restartWith runs this program again with the same arguments and one more
// environment variable, and exits with its status.
func restartWith(env string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		return err
	}
	os.Exit(0)
	return nil
}

func run(src source, dataDir, out string, iters int) error {
	train, err := shipped.LoadFull(filepath.Join(dataDir, src.dir), "train", src.classes, data.Resolution(32))
	if err != nil {
		return err
	}
	eval, err := src.eval(data.Resolution(32))
	if err != nil {
		return err
	}
	m, err := initial(src)
	if err != nil {
		return err
	}
	opts := gan.Options{
		Iterations: iters, BatchSize: 64, Seed: src.seed, EMA: 0.995,
		Dir: out, Resume: true, LogEvery: 10, CheckpointEvery: 50, KeepCheckpoints: 2,
		Eval: &gan.Eval{Every: 250, Real: eval, Samples: 1000, Metrics: []string{"fid", "kid"}},
		OnProgress: func(p gan.Progress) {
			if p.Iteration%10 == 0 {
				fmt.Printf("it %d/%d  loss_d %.3f  loss_g %.3f  W %.3f  %.2f s/it  eta %s\n",
					p.Iteration, p.Iterations, p.LossD, p.LossG, p.Wasserstein, 1/p.ItPerSec, p.ETA.Round(1e9))
			}
		},
		OnEval: func(e gan.EvalEvent) {
			for _, r := range e.Results {
				fmt.Printf("eval it %d: %s\n", e.Iteration, r)
			}
		},
	}
	opts.Hooks.LRScale = src.lrScale
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := gan.Train(ctx, m, train, opts)
	if err != nil {
		return err
	}
	fmt.Printf("done: %d iterations, %.2f s/it, %s\n", res.Iteration, res.SecPerIter, res.Checkpoint)
	return nil
}

// initial returns the model a recipe starts from: fresh weights, or the
// shipped source it names made into its architecture by transfer.Target (a
// conditional model from an unconditional one: class tables tiled from the
// source's batch norm, the critic's class head random from the recipe's seed).
func initial(src source) (*gan.Model, error) {
	if src.from == "" {
		return gan.New(src.cfg, rand.New(rand.NewPCG(src.seed, 1)))
	}
	base, err := sources.Open(src.from)
	if err != nil {
		return nil, err
	}
	m, err := transfer.Target(base, transfer.Options{Init: transfer.InitBoth, Classes: src.cfg.Classes, Conditioning: src.cfg.Conditioning, Seed: src.seed})
	if err != nil {
		return nil, err
	}
	if m.Config != src.cfg.WithDefaults() {
		return nil, fmt.Errorf("the model from %s is %s; the recipe wants %s", src.from, m.Config, src.cfg.WithDefaults())
	}
	return m, nil
}
