package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/data/shipped"
	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/sources"
	"github.com/gantry-go/gantry/tensor"
)

// licences of the training data, for the README.
var licences = map[string]string{
	"mnist":   "MNIST (Yann LeCun and Corinna Cortes), CC BY-SA 3.0",
	"fashion": "Fashion-MNIST (Zalando SE), MIT",
}

// shipSource writes the latest checkpoint of run as the shipped source name
// into dir, with its record, grid and README section.
func shipSource(name string, src source, run, dir string) error {
	ck, err := gan.LatestCheckpoint(run)
	if err != nil {
		return err
	}
	m, err := gan.Load(ck)
	if err != nil {
		return err
	}
	full, err := sources.Evaluate(m, name)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name+".safetensors")
	if err := gan.SaveHalf(path, m); err != nil {
		return err
	}
	half, err := gan.Load(path)
	if err != nil {
		return err
	}
	rep, err := sources.Evaluate(half, name)
	if err != nil {
		return err
	}
	rvr, err := realVsReal(name)
	if err != nil {
		return err
	}
	it, err := checkpointIteration(ck)
	if err != nil {
		return err
	}
	secPerIter, err := medianSecPerIter(filepath.Join(run, gan.StatsFile), it)
	if err != nil {
		return err
	}
	check, err := firstCheck(filepath.Join(run, gan.LogFile), 100)
	if err != nil {
		return err
	}
	rec := sources.Record{
		Check: check,
		Name:  name, Iteration: it, FID: rep.FID.Value, KID: rep.KID.Value, FIDFloat32: full.FID.Value,
		RealVsReal: rvr, Protocol: rep.FID.String(), SecPerIter: secPerIter, CPU: cpuModel(),
		Command: fmt.Sprintf("go run ./internal/cmd/trainsource -source %s -out runs/source-%s -iters %d", name, name, it),
	}
	if half.Config.Classes > 0 {
		if rec.LabelAccuracy, rec.HeldOutAccuracy, err = sources.LabelAccuracy(half, name); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := saveGrid(filepath.Join(dir, name+".png"), half.Sampler()); err != nil {
		return err
	}
	curve, err := fidCurve(run)
	if err != nil {
		return err
	}
	fmt.Printf("%s: iteration %d, FID %.3f (float16) vs %.3f (float32), real vs real %.3f\n", name, rec.Iteration, rec.FID, rec.FIDFloat32, rvr)
	return updateReadme(filepath.Join(dir, "README.md"), name, section(rec, src, curve))
}

// saveGrid writes the source's picture: 64 samples in 8 rows, or for a
// conditional generator one row of 10 samples per class.
func saveGrid(path string, g *gan.Generator) error {
	r := rand.New(rand.NewPCG(sources.EvalSeed, 1))
	if k := g.Config.Classes; k > 0 {
		labels := make([]int, k*10)
		for i := range labels {
			labels[i] = i / 10
		}
		return gan.SaveGrid(path, g.SampleLabels(len(labels), labels, r), 10)
	}
	return gan.SaveGrid(path, g.Sample(64, r), 8)
}

// realVsReal is FID between 1,000 training images (from the shipped part)
// and the held-out images.
func realVsReal(name string) (float64, error) {
	load := shipped.MNIST
	if name == sources.NameFashion {
		load = shipped.FashionMNIST
	}
	train, err := load(data.Resolution(32))
	if err != nil {
		return 0, err
	}
	sub, err := data.BalancedSubset(train, 1000, rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		return 0, err
	}
	held, err := sources.HeldOut(name)
	if err != nil {
		return 0, err
	}
	ext := metrics.Gray()
	a := metrics.DatasetFeatures(ext, sub, metrics.Options{})
	b := metrics.DatasetFeatures(ext, held, metrics.Options{})
	return metrics.Compare(a, b, rand.New(rand.NewPCG(1, 0)), metrics.Options{}).FID.Value, nil
}

// checkpointIteration reads the iteration from a checkpoint's file name.
func checkpointIteration(path string) (int, error) {
	m := regexp.MustCompile(`checkpoint-(\d+)\.safetensors$`).FindStringSubmatch(path)
	if m == nil {
		return 0, fmt.Errorf("%s: not a checkpoint file name", path)
	}
	return strconv.Atoi(m[1])
}

// medianSecPerIter reads the run's stats lines up to iteration upTo (a run
// killed after its last checkpoint logs intervals that its resume repeats)
// and returns the median time per iteration over the logged intervals,
// which a machine busy for part of a long run moves less than the mean.
func medianSecPerIter(path string, upTo int) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var secs []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Iteration int `json:"iteration"`
			Timing    struct {
				SecPerIter float64 `json:"sec_per_iter"`
			} `json:"timing"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if line.Iteration <= upTo {
			secs = append(secs, line.Timing.SecPerIter)
		}
	}
	if len(secs) == 0 {
		return 0, sc.Err()
	}
	slices.Sort(secs)
	return secs[len(secs)/2], sc.Err()
}

type point struct {
	it  int
	fid float64
}

// fidCurve is the FID the trainer measured over the run, from its metric
// file (gan.ReadMetrics).
func fidCurve(run string) ([]point, error) {
	recs, err := gan.ReadMetrics(run)
	if err != nil {
		return nil, err
	}
	var pts []point
	for _, r := range recs["fid"] {
		pts = append(pts, point{it: r.Iteration, fid: r.Result.Value})
	}
	return pts, nil
}

// cpuModel names the CPU from /proc/cpuinfo: its model name, and its family
// and model numbers, which tell apart CPUs that a virtual machine names only
// "AMD EPYC".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	field := func(key string) string {
		m := regexp.MustCompile(`(?m)^` + key + `\s*:\s*(.*)$`).FindSubmatch(b)
		if m == nil {
			return ""
		}
		return strings.TrimSpace(string(m[1]))
	}
	name := field("model name")
	if name == "" {
		return "unknown CPU"
	}
	if fam, mod := field("cpu family"), field("model"); fam != "" && mod != "" {
		name += fmt.Sprintf(" (family %s, model %s)", fam, mod)
	}
	return name
}

func section(rec sources.Record, src source, curve []point) string {
	var s strings.Builder
	fmt.Fprintf(&s, "## %s\n\n![samples of %s](%s.png)\n\n", rec.Name, rec.Name, rec.Name)
	loss := "WGAN-GP (n_critic 5, λ 10, Adam 1e-4 (0, 0.9))"
	if src.cfg.Classes > 0 {
		loss += " with the AC-GAN class head (cross-entropy weight 1 in both losses)"
	}
	fmt.Fprintf(&s, "- Model: %s, %s, batch 64, EMA 0.995; float16 storage.\n", src.cfg, loss)
	if src.start != "" {
		fmt.Fprintf(&s, "- Start: %s.\n", src.start)
	}
	fmt.Fprintf(&s, "- Data: the full training set (60,000 images) of %s, resized to 32x32.\n", licences[strings.TrimSuffix(rec.Name, "-cond")])
	fmt.Fprintf(&s, "- Command (seed %d, fixed in the command): `%s`\n", src.seed, rec.Command)
	fmt.Fprintf(&s, "- Iterations: %d; %.2f s per iteration (the median of the logged intervals) on %s, 2 cores.\n", rec.Iteration, rec.SecPerIter, rec.CPU)
	fmt.Fprintf(&s, "- FID against the held-out test images: **%.2f** (float32 weights: %.2f; real training images vs held-out: %.2f). Protocol: %s, seed %d.\n\n", rec.FID, rec.FIDFloat32, rec.RealVsReal, rec.Protocol, sources.EvalSeed)
	if rec.HeldOutAccuracy > 0 {
		fmt.Fprintf(&s, "- Conditioning: gantry-gray classifies %.1f%% of %d samples (equally many per class, seed %d) as the class they were drawn for; %.1f%% of the held-out images as their label. The picture has one row per class.\n\n", 100*rec.LabelAccuracy, sources.EvalSamples, sources.EvalSeed, 100*rec.HeldOutAccuracy)
	}
	s.WriteString("FID over training (EMA generator, 1,000 samples vs the 1,000 held-out images, gantry-gray):\n\n| iteration | FID |\n| ---: | ---: |\n")
	for _, p := range curve {
		fmt.Fprintf(&s, "| %d | %.2f |\n", p.it, p.fid)
	}
	return s.String()
}

// updateReadme replaces (or appends) the section between the markers of
// name in the README at path.
func updateReadme(path, name, body string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	start, end := "<!-- source:"+name+" -->", "<!-- /source:"+name+" -->"
	text := string(b)
	block := start + "\n" + body + end
	if i, j := strings.Index(text, start), strings.Index(text, end); i >= 0 && j > i {
		text = text[:i] + block + text[j+len(end):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// firstCheck returns the checksum the run's log records for its checkpoint at
// iteration it, or, for a run that never reached it, its first checkpoint.
func firstCheck(logPath string, it int) (sources.Check, error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return sources.Check{}, err
	}
	re := regexp.MustCompile(`checkpoint-(\d+)\.safetensors: model sha256 ([0-9a-f]{64})`)
	var first sources.Check
	for _, m := range re.FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		c := sources.Check{Iteration: n, SHA256: string(m[2])}
		if n == it {
			return withArithmetic(c, b), nil
		}
		if first.SHA256 == "" || n < first.Iteration {
			first = c
		}
	}
	if first.SHA256 == "" {
		return first, fmt.Errorf("%s records no checkpoint checksum", logPath)
	}
	return withArithmetic(first, b), nil
}

// withArithmetic adds to c the kernels and threads that the run's log says
// its first session ran with. A log from before the trainer recorded them
// gets this machine's, which is right when the run started on its kind of
// machine (so it was for the first shipped sources).
func withArithmetic(c sources.Check, log []byte) sources.Check {
	c.Kernels, c.Threads = tensor.Kernels(), runtime.GOMAXPROCS(0)
	m := regexp.MustCompile(`(?m)^\S+ start: .*?kernels (\w+), (\d+) threads`).FindSubmatch(log)
	if m != nil {
		c.Kernels = string(m[1])
		c.Threads, _ = strconv.Atoi(string(m[2]))
	}
	return c
}
