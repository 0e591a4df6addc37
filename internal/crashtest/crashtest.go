// Package crashtest checks that files written by a process survive its being
// killed (SIGKILL) at random points: a test re-executes its own binary as a
// child that writes numbered checkpoints, kills it after a random delay,
// loads the latest checkpoint, and starts a new child from there, until the
// number of checkpoints asked for has been written.
//
// After every kill the latest checkpoint must load, and must be at least the
// last one the child finished writing: resuming loses at most the write that
// was under way. This is the standard Go pattern for tests that must crash a
// process (an environment variable tells the re-executed test binary that it
// is the child), so a test using it must be a top-level test function, and
// Run must be the first thing it does.
//
// A test writes into Dir(t), which parent and children share:
//
//	func TestSaveSurvivesKill(t *testing.T) {
//		path := filepath.Join(crashtest.Dir(t), "ckpt.safetensors")
//		rep, err := crashtest.Run(t, crashtest.Config{
//			Write:  func(i int) error { return save(path, i) },
//			Latest: func() (int, error) { return load(path) }, // -1, nil when absent
//		})
//		...
//	}
//
// It is for tests only; production code never imports it.
package crashtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The environment of a child: which test it runs and the first checkpoint
// it writes.
const (
	envTest  = "GANTRY_CRASHTEST_CHILD"
	envStart = "GANTRY_CRASHTEST_START"
	envDir   = "GANTRY_CRASHTEST_DIR"
)

// Dir returns a folder for the checkpoints of t's kill test, the same in
// the parent and in its children: a new temporary folder in the parent
// (removed when the test ends), passed to the children in the environment.
func Dir(t testing.TB) string {
	if d := os.Getenv(envDir); d != "" && os.Getenv(envTest) == t.Name() {
		return d
	}
	d := t.TempDir()
	t.Setenv(envDir, d)
	return d
}

// Config says what a kill test writes and how it checks it.
type Config struct {
	// Writes is the number of checkpoints written in all, across children
	// (default 100).
	Writes int
	// Write writes checkpoint i. It runs in the child, for i from where
	// the previous child's latest checkpoint left off.
	Write func(i int) error
	// Latest loads the newest checkpoint and returns its number, or -1
	// with a nil error if there is none yet. It runs in the parent after
	// each child ends; an error means the checkpoint did not load.
	Latest func() (int, error)
	// Seed seeds the kill times.
	Seed uint64
	// MaxDelay bounds the random delay, after a child starts writing,
	// before it is killed; 0 means three times the mean time of a write
	// seen so far (20 ms before any is seen).
	MaxDelay time.Duration
}

// Report counts what a kill test did.
type Report struct {
	Children  int           // child processes started
	Kills     int           // children killed before they were done
	MidWrite  int           // kills that came while a write was under way
	Writes    int           // checkpoints the children finished writing, including rewrites after a kill
	MeanWrite time.Duration // mean time of a finished write in the children
	Elapsed   time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("%d children, %d killed (%d during a write), %d writes finished (mean %v), in %v",
		r.Children, r.Kills, r.MidWrite, r.Writes, r.MeanWrite.Round(10*time.Microsecond), r.Elapsed.Round(time.Millisecond))
}

// Run runs the kill test described by cfg from the test t, which must be a
// top-level test. In the parent it returns what happened and the first
// check that failed; in the child it writes checkpoints until killed or
// done, then exits the process.
func Run(t testing.TB, cfg Config) (Report, error) {
	if cfg.Writes == 0 {
		cfg.Writes = 100
	}
	if os.Getenv(envTest) == t.Name() {
		child(cfg)
	}
	if strings.Contains(t.Name(), "/") {
		panic(fmt.Sprintf("crashtest: Run: %s is a subtest; call Run from a top-level test", t.Name()))
	}
	return parent(t, cfg)
}

// child writes checkpoints start, start+1, ..., announcing each on stdout
// before and after, and exits.
func child(cfg Config) {
	start, err := strconv.Atoi(os.Getenv(envStart))
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: child: bad", envStart, err)
		os.Exit(2)
	}
	for i := start; i < cfg.Writes; i++ {
		fmt.Printf("crashtest: begin %d\n", i)
		if err := cfg.Write(i); err != nil {
			fmt.Fprintf(os.Stderr, "crashtest: child: write %d: %v\n", i, err)
			os.Exit(3)
		}
		fmt.Printf("crashtest: done %d\n", i)
	}
	os.Exit(0)
}

// progress is what the parent has read of a child's announcements.
type progress struct {
	mu      sync.Mutex
	begun   int // last checkpoint begun, -1 for none
	done    int // last checkpoint finished
	started chan struct{}
	began   time.Time
	total   time.Duration // time of the finished writes
	writes  int
}

func (p *progress) read(sc *bufio.Scanner) {
	for sc.Scan() {
		var what string
		var i int
		if n, _ := fmt.Sscanf(sc.Text(), "crashtest: %s %d", &what, &i); n != 2 {
			continue
		}
		p.mu.Lock()
		switch what {
		case "begin":
			if p.begun < 0 {
				close(p.started)
			}
			p.begun, p.began = i, time.Now()
		case "done":
			p.done = i
			p.total += time.Since(p.began)
			p.writes++
		}
		p.mu.Unlock()
	}
}

func parent(t testing.TB, cfg Config) (rep Report, err error) {
	t0 := time.Now()
	var total time.Duration
	defer func() {
		rep.Elapsed = time.Since(t0)
		if rep.Writes > 0 {
			rep.MeanWrite = total / time.Duration(rep.Writes)
		}
	}()
	r := rand.New(rand.NewPCG(cfg.Seed, 0xc4a5))
	latest, err := cfg.Latest()
	if err != nil || latest != -1 {
		return rep, fmt.Errorf("crashtest: before the first child, Latest = %d, %v; want -1 and no error", latest, err)
	}
	for latest < cfg.Writes-1 {
		cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), envTest+"="+t.Name(), envStart+"="+strconv.Itoa(latest+1))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return rep, err
		}
		p := &progress{begun: -1, done: -1, started: make(chan struct{})}
		read := make(chan struct{})
		go func() { p.read(bufio.NewScanner(out)); close(read) }()
		if err := cmd.Start(); err != nil {
			return rep, err
		}
		rep.Children++

		maxDelay := cfg.MaxDelay
		if maxDelay == 0 {
			maxDelay = 20 * time.Millisecond
			if rep.Writes > 0 {
				maxDelay = 3 * total / time.Duration(rep.Writes)
			}
		}
		killed := false
		select {
		case <-p.started:
			time.Sleep(time.Duration(r.Int64N(int64(maxDelay) + 1)))
			killed = cmd.Process.Kill() == nil
		case <-read: // the child ended before writing anything
		}
		<-read
		werr := cmd.Wait()
		p.mu.Lock()
		begun, done := p.begun, p.done
		rep.Writes += p.writes
		total += p.total
		p.mu.Unlock()
		switch {
		case killed && done < cfg.Writes-1:
			rep.Kills++
			if begun > done {
				rep.MidWrite++
			}
		case !killed && werr != nil:
			return rep, fmt.Errorf("crashtest: child from checkpoint %d: %v", latest+1, werr)
		}

		got, err := cfg.Latest()
		switch {
		case err != nil:
			return rep, fmt.Errorf("crashtest: after a kill with checkpoint %d written and %d under way, the latest does not load: %w", done, begun, err)
		case got < max(done, latest):
			return rep, fmt.Errorf("crashtest: after a kill the latest checkpoint is %d; %d was written", got, max(done, latest))
		case got > max(begun, latest):
			return rep, fmt.Errorf("crashtest: the latest checkpoint is %d, but only %d was begun", got, begun)
		}
		latest = got
	}
	return rep, nil
}
