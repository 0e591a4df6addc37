// Command soak trains a small GAN for many iterations with gan's trainer,
// kills it (SIGKILL) at random moments and resumes it from its latest
// checkpoint, and reports the live heap over time: a check that training
// neither leaks memory nor loses more than a checkpoint interval to a
// crash. It is a developer program, not part of CI:
//
//	go run ./internal/cmd/soak -iters 10000 -every 100 -kill 30s
//	go run ./internal/cmd/soak -iters 300 -every 25 -kill 4s -verify   # a brief run
//
// The trainer runs in child processes (this program re-executed with
// -child); each prints its iteration and live heap (after a collection)
// every -report iterations. The parent kills a child after a random time
// around -kill (uniform in [kill/2, 3·kill/2]; -kill 0 never kills), starts
// a new one that resumes from the run folder, and checks that the resumed
// iteration is no further back than the last checkpoint interval. At the
// end it prints the live heap over iterations and, with -verify, trains
// the same run again without kills and checks that both final models are
// bit-identical.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
)

type config struct {
	dir          string
	iters, every int
	report       int
	kill         time.Duration
	seed         uint64
	width, batch int
	verify       bool
}

func main() {
	var c config
	child := flag.Bool("child", false, "run the trainer (used by the parent)")
	flag.StringVar(&c.dir, "dir", "", "run folder (default: a new temporary folder)")
	flag.IntVar(&c.iters, "iters", 10000, "iterations to reach")
	flag.IntVar(&c.every, "every", 100, "iterations between checkpoints")
	flag.IntVar(&c.report, "report", 50, "iterations between heap reports")
	flag.DurationVar(&c.kill, "kill", 30*time.Second, "mean time between kills (0: none)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the model, the training and the kill times")
	flag.IntVar(&c.width, "width", 4, "the model's width d (16x16 gray images)")
	flag.IntVar(&c.batch, "batch", 16, "batch size")
	flag.BoolVar(&c.verify, "verify", false, "train again without kills and compare the final models")
	flag.Parse()
	var err error
	if *child {
		err = train(c)
	} else {
		err = soak(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// train is the child: it trains in c.dir, resuming its latest checkpoint,
// and prints "soak: it N live B" every c.report iterations.
func train(c config) error {
	ds, err := shipped.MNIST(data.Resolution(16))
	if err != nil {
		return err
	}
	m, err := gan.New(gan.Config{Resolution: 16, Channels: 1, Width: c.width, ZDim: 32}, rand.New(rand.NewPCG(c.seed, 1)))
	if err != nil {
		return err
	}
	var ms runtime.MemStats
	opts := gan.Options{
		Iterations: c.iters, BatchSize: c.batch, NCritic: 2, Seed: c.seed,
		Dir: c.dir, Resume: true, LogEvery: c.every, CheckpointEvery: c.every, KeepCheckpoints: 2, GridSize: 16,
		OnProgress: func(p gan.Progress) {
			if p.Iteration%c.report == 0 || p.Iteration == p.Iterations {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				fmt.Printf("soak: it %d live %d\n", p.Iteration, ms.HeapAlloc)
			}
		},
	}
	_, err = gan.Train(context.Background(), m, ds, opts)
	return err
}

// sample is one heap report of a child.
type sample struct {
	child, it int
	live      uint64
	at        time.Duration
}

func soak(c config) error {
	if c.dir == "" {
		d, err := os.MkdirTemp("", "soak-")
		if err != nil {
			return err
		}
		c.dir = d
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	fmt.Printf("soak: %d iterations in %s, a checkpoint every %d, kills every %v on average, GOMAXPROCS %d\n",
		c.iters, c.dir, c.every, c.kill, runtime.GOMAXPROCS(0))
	start := time.Now()
	r := rand.New(rand.NewPCG(c.seed, 0x50a4))
	var samples []sample
	kills, lostMax, lostSum := 0, 0, 0
	last := -1 // the last iteration a child reported
	for child := 0; ; child++ {
		var wait time.Duration
		if c.kill > 0 {
			wait = c.kill/2 + time.Duration(r.Int64N(int64(c.kill)))
		}
		got, finished, err := runChild(c, wait, func(it int, live uint64) {
			samples = append(samples, sample{child, it, live, time.Since(start)})
		})
		if err != nil {
			return err
		}
		if len(got) > 0 {
			last = got[len(got)-1]
		}
		if finished {
			break
		}
		kills++
		// The next child resumes from the latest checkpoint, which must
		// be at most one interval behind the last report.
		ck, err := latest(c.dir)
		if err != nil {
			return fmt.Errorf("after kill %d: %w", kills, err)
		}
		lost := max(last-ck, 0)
		lostMax, lostSum = max(lostMax, lost), lostSum+lost
		if lost > c.every {
			return fmt.Errorf("after kill %d the latest checkpoint is at %d, %d iterations behind the last report (%d): more than one interval", kills, ck, lost, last)
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("soak: done in %v: %d children, %d kills; a resume went back at most %d iterations behind the last report (%d in all)\n",
		elapsed.Round(time.Second), kills+1, kills, lostMax, lostSum)
	printHeap(samples)
	if ents, err := os.ReadDir(c.dir); err == nil {
		tmp := 0
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp") {
				tmp++
			}
		}
		fmt.Printf("soak: %d temporary files left in the run folder by kills\n", tmp)
	}

	final := filepath.Join(c.dir, gan.CheckpointName(c.iters))
	m, err := gan.Load(final)
	if err != nil {
		return fmt.Errorf("the final checkpoint does not load: %w", err)
	}
	sum := gan.Checksum(m.StateDict())
	fmt.Printf("soak: final checkpoint %s, checksum %s\n", final, sum)
	if !c.verify {
		return nil
	}
	straight := c
	straight.dir = filepath.Join(c.dir, "straight")
	if _, _, err := runChild(straight, 0, func(int, uint64) {}); err != nil {
		return err
	}
	m2, err := gan.Load(filepath.Join(straight.dir, gan.CheckpointName(c.iters)))
	if err != nil {
		return err
	}
	if sum2 := gan.Checksum(m2.StateDict()); sum2 != sum {
		return fmt.Errorf("the run without kills ends with checksum %s, the killed one with %s", sum2, sum)
	}
	fmt.Println("soak: the run without kills ends bit-identical")
	return nil
}

// latest returns the iteration of the latest checkpoint in dir, -1 if none.
func latest(dir string) (int, error) {
	path, err := gan.LatestCheckpoint(dir)
	if errors.Is(err, os.ErrNotExist) || path == "" {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	var it int
	if _, err := fmt.Sscanf(filepath.Base(path), "checkpoint-%d.safetensors", &it); err != nil {
		return 0, fmt.Errorf("checkpoint name %s: %v", path, err)
	}
	if _, err := gan.Load(path); err != nil {
		return 0, fmt.Errorf("the latest checkpoint does not load: %w", err)
	}
	return it, nil
}

// runChild runs one child until it finishes or, when wait > 0, until wait
// has passed, when it is killed. It returns the iterations reported and
// whether the child finished training.
func runChild(c config, wait time.Duration, report func(it int, live uint64)) (its []int, finished bool, err error) {
	cmd := exec.Command(os.Args[0], "-child", "-dir", c.dir, "-iters", fmt.Sprint(c.iters), "-every", fmt.Sprint(c.every),
		"-report", fmt.Sprint(c.report), "-seed", fmt.Sprint(c.seed), "-width", fmt.Sprint(c.width), "-batch", fmt.Sprint(c.batch))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false, err
	}
	if err := cmd.Start(); err != nil {
		return nil, false, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var it int
			var live uint64
			if n, _ := fmt.Sscanf(sc.Text(), "soak: it %d live %d", &it, &live); n == 2 {
				its = append(its, it)
				report(it, live)
			}
		}
		io.Copy(io.Discard, out)
	}()
	killed := false
	if wait > 0 {
		select {
		case <-done:
		case <-time.After(wait):
			killed = cmd.Process.Kill() == nil
		}
	}
	<-done
	werr := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case werr == nil:
		return its, true, nil
	case killed && errors.As(werr, &ee):
		return its, false, nil
	default:
		return its, false, fmt.Errorf("child: %w", werr)
	}
}

// printHeap prints the live heap against the iteration, at about twenty
// evenly spaced reports, and its growth within each child.
func printHeap(samples []sample) {
	if len(samples) == 0 {
		return
	}
	fmt.Println("soak: live heap after a collection")
	fmt.Println("   time  child  iteration  live MB")
	step := max(1, len(samples)/20)
	for i, s := range samples {
		if i%step == 0 || i == len(samples)-1 {
			fmt.Printf("%7.1fs %6d %10d %8.2f\n", s.at.Seconds(), s.child, s.it, float64(s.live)/(1<<20))
		}
	}
	// Growth within a child, from its second report (the first follows
	// loading) to its last, for the children with at least four reports.
	var growth []string
	for i := 0; i < len(samples); {
		j := i
		for j < len(samples) && samples[j].child == samples[i].child {
			j++
		}
		if j-i >= 4 {
			a, b := samples[i+1], samples[j-1]
			growth = append(growth, fmt.Sprintf("child %d: %+.2f MB over %d iterations", a.child, (float64(b.live)-float64(a.live))/(1<<20), b.it-a.it))
		}
		i = j
	}
	if len(growth) > 0 {
		fmt.Println("soak: heap growth within children:", strings.Join(growth, "; "))
	}
}
