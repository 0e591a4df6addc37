package gan

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-go/gantry/data"
	"github.com/gantry-go/gantry/internal/atomicfile"
	"github.com/gantry-go/gantry/internal/version"
	"github.com/gantry-go/gantry/metrics"
	"github.com/gantry-go/gantry/tensor"
)

// The files of a run folder.
const (
	OptionsFile = "options.json"
	LogFile     = "log.txt"
	StatsFile   = "stats.jsonl"
	RealsFile   = "reals.png"
	BestFile    = "best.safetensors"
)

// CheckpointName returns the file name of the checkpoint after it
// iterations, "checkpoint-000500.safetensors".
func CheckpointName(it int) string { return fmt.Sprintf("checkpoint-%06d.safetensors", it) }

// GridName returns the file name of the fixed-noise grid after it
// iterations, "fakes-000015.png".
func GridName(it int) string { return fmt.Sprintf("fakes-%06d.png", it) }

// MetricFile returns the file holding one metric's values, "metric-fid.jsonl".
func MetricFile(metric string) string { return "metric-" + metric + ".jsonl" }

// GridIterations returns the iterations up to max at which a run writes a
// fixed-noise grid: those of the paper's Fig. 4 (0, 2, 5, 15, 39, 99, 251,
// 632, 1591, 4000), continued by factors of 10^0.4.
func GridIterations(max int) []int {
	its := []int{0, 2, 5, 15, 39, 99, 251, 632, 1591, 4000}
	for f := 4000.0; its[len(its)-1] <= max; {
		f *= math.Pow(10, 0.4)
		its = append(its, int(math.Round(f)))
	}
	n := sort.SearchInts(its, max+1)
	return its[:n]
}

func isGridIteration(it int) bool {
	its := GridIterations(it)
	return len(its) > 0 && its[len(its)-1] == it
}

// DataHash returns a SHA-256 of a dataset's images (shape and float32
// values) and labels, in order: the identity of training data that a run
// folder records.
func DataHash(ds data.Dataset) string {
	h := sha256.New()
	n := ds.Len()
	var shape []int
	if n > 0 {
		shape = data.ImageShape(ds)
	}
	fmt.Fprintf(h, "%d %v\n", n, shape)
	per := 1
	for _, d := range shape {
		per *= d
	}
	img := make([]float32, per)
	buf := make([]byte, 4*per+8)
	cp, _ := ds.(data.Copier)
	for i := range n {
		if cp != nil {
			cp.CopyImage(img, i)
		} else {
			copy(img, ds.Image(i).Data())
		}
		for j, v := range img {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		binary.LittleEndian.PutUint64(buf[4*per:], uint64(int64(ds.Label(i))))
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// runDir is a run folder being written.
type runDir struct {
	dir string
	log *os.File
}

// savedOptions is options.json.
type savedOptions struct {
	Gantry  string  `json:"gantry_version"`
	Config  Config  `json:"config"`
	Options Options `json:"options"`
}

// openRun creates dir if needed and finds its latest readable checkpoint.
func openRun(dir string, resume bool) (*runDir, *checkpoint, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("gan: run folder: %w", err)
	}
	if err := lockRun(dir); err != nil {
		return nil, nil, err
	}
	its, err := checkpoints(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(its) > 0 && !resume {
		return nil, nil, fmt.Errorf("%w (%s)", ErrRunExists, dir)
	}
	var ck *checkpoint
	var errs []error
	for i := len(its) - 1; i >= 0 && ck == nil; i-- {
		path := filepath.Join(dir, CheckpointName(its[i]))
		c, err := readCheckpoint(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ck = c
	}
	if len(its) > 0 && ck == nil {
		return nil, nil, fmt.Errorf("gan: no readable checkpoint in %s: %w", dir, errors.Join(errs...))
	}
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("gan: run folder: %w", err)
	}
	r := &runDir{dir: dir, log: f}
	for _, e := range errs {
		r.logf("skipped an unreadable checkpoint: %v", e)
	}
	// A process killed while writing leaves its temporary file behind
	// (never the file it was replacing): remove them.
	if stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(stale) > 0 {
		for _, p := range stale {
			os.Remove(p)
		}
		r.logf("removed %d temporary files left by an interrupted write", len(stale))
	}
	return r, ck, nil
}

// checkpoints returns the iterations of the checkpoints in dir, ascending.
func checkpoints(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("gan: run folder: %w", err)
	}
	var its []int
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, "checkpoint-") || !strings.HasSuffix(name, ".safetensors") {
			continue
		}
		it, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "checkpoint-"), ".safetensors"))
		if err == nil && it >= 0 {
			its = append(its, it)
		}
	}
	slices.Sort(its)
	return its, nil
}

// LatestCheckpoint returns the path of the newest checkpoint in a run
// folder, or an error wrapping fs.ErrNotExist when there is none.
func LatestCheckpoint(dir string) (string, error) {
	its, err := checkpoints(dir)
	if err != nil {
		return "", err
	}
	if len(its) == 0 {
		return "", fmt.Errorf("gan: no checkpoint in %s: %w", dir, fs.ErrNotExist)
	}
	return filepath.Join(dir, CheckpointName(its[len(its)-1])), nil
}

func (r *runDir) path(name string) string { return filepath.Join(r.dir, name) }

func (r *runDir) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// start writes options.json and reals.png of a new run, or checks the
// options of a resumed one and cuts its logs back to the checkpoint.
func (r *runDir) start(t *Trainer, ck *checkpoint) error {
	cur := savedOptions{Gantry: version.Version, Config: t.m.Config, Options: t.o}
	if ck == nil {
		b, err := json.MarshalIndent(cur, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(r.path(OptionsFile), append(b, '\n')); err != nil {
			return fmt.Errorf("gan: run folder: %w", err)
		}
		for _, name := range r.jsonlFiles() {
			if err := os.Remove(r.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		n := min(t.o.GridSize, t.ds.Len())
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		reals := data.Materialize(data.NewView(t.ds, idx))
		if err := SaveGrid(r.path(RealsFile), reals.Images(), gridCols(n)); err != nil {
			return err
		}
		r.logf("start: %s, %d images (data %s), %s, options %s", t.m.Config, t.ds.Len(), t.o.DataHash[:12], arithmetic(), compactJSON(t.o))
		return nil
	}
	if err := sameOptions(ck.options, t.o); err != nil {
		return fmt.Errorf("gan: resume %s: %w", ck.path, err)
	}
	for _, name := range r.jsonlFiles() {
		if err := truncateJSONL(r.path(name), ck.state.Iteration); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(cur, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(r.path(OptionsFile), append(b, '\n')); err != nil {
		return fmt.Errorf("gan: run folder: %w", err)
	}
	r.logf("resume from %s at iteration %d, to %d, %s", filepath.Base(ck.path), ck.state.Iteration, t.o.Iterations, arithmetic())
	return nil
}

// arithmetic names what a run's floating-point results depend on besides its
// options and data: the kernels' instruction set and the number of threads.
func arithmetic() string {
	return fmt.Sprintf("kernels %s, %d threads", tensor.Kernels(), runtime.GOMAXPROCS(0))
}

func (r *runDir) jsonlFiles() []string {
	names, _ := metricFiles(r.dir)
	return append([]string{StatsFile}, names...)
}

// metricFiles returns the names of the metric files in dir, sorted.
func metricFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if metricKeyOf(e.Name()) != "" {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// metricKeyOf returns the metric of a metric file's name, "fid" for
// "metric-fid.jsonl", or "" for another name.
func metricKeyOf(name string) string {
	key, ok := strings.CutPrefix(name, "metric-")
	if !ok {
		return ""
	}
	key, ok = strings.CutSuffix(key, ".jsonl")
	if !ok {
		return ""
	}
	return key
}

// ReadMetrics reads the metric files of the run folder dir: the records of
// each metric in the order they were written, keyed as the file is named
// ("fid" for metric-fid.jsonl). A folder without metric files gives an
// empty map. A line that is not a record (a line torn by a kill) ends the
// reading of its file, and ReadMetrics returns an error naming the first
// such file and line with the map of all it could read.
func ReadMetrics(dir string) (map[string][]MetricRecord, error) {
	out := map[string][]MetricRecord{}
	names, err := metricFiles(dir)
	if err != nil {
		return out, fmt.Errorf("gan: ReadMetrics: %w", err)
	}
	var first error
	for _, name := range names {
		if err := readMetricFile(filepath.Join(dir, name), metricKeyOf(name), out); err != nil && first == nil {
			first = fmt.Errorf("gan: ReadMetrics: %w", err)
		}
	}
	return out, first
}

func readMetricFile(path, key string, out map[string][]MetricRecord) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var rec MetricRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
		out[key] = append(out[key], rec)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func compactJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameOptions reports the saved options that differ from o, but for
// Iterations.
func sameOptions(saved json.RawMessage, o Options) error {
	var a, b map[string]any
	if err := json.Unmarshal(saved, &a); err != nil {
		return fmt.Errorf("saved options: %w", err)
	}
	cur, _ := json.Marshal(o)
	json.Unmarshal(cur, &b)
	delete(a, "iterations")
	delete(b, "iterations")
	var diffs []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for _, k := range slices.Sorted(mapKeys(keys)) {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		// An option added to gantry after the run started is absent from
		// the saved options; at its zero value it changes nothing.
		if _, saved := a[k]; !saved && isZeroJSON(b[k]) {
			continue
		}
		if !bytes.Equal(x, y) {
			diffs = append(diffs, fmt.Sprintf("%s was %s, now %s", k, x, y))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the options differ from the run's (a resume must use the same ones): %s", strings.Join(diffs, "; "))
	}
	return nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// truncateJSONL drops the lines of a JSON-lines file whose "iteration" is
// above it, so a resumed run does not repeat them.
func truncateJSONL(path string, it int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var line struct {
			Iteration int `json:"iteration"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Iteration > it {
			break
		}
		keep.Write(sc.Bytes())
		keep.WriteByte('\n')
	}
	if keep.Len() == len(b) {
		return nil
	}
	return atomicfile.WriteBytes(path, keep.Bytes())
}

func appendLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statsLine is one line of stats.jsonl: the means over the iterations since
// the previous line. Timing holds the only values that vary between runs.
type statsLine struct {
	Iteration   int          `json:"iteration"`
	Iterations  int          `json:"iterations"`
	LossD       float64      `json:"loss_d"`
	LossG       float64      `json:"loss_g"`
	Wasserstein float64      `json:"wasserstein"`
	Penalty     float64      `json:"penalty"`
	GPNorm      float64      `json:"penalty_grad_norm"`
	GradNormD   float64      `json:"grad_norm_d"`
	GradNormG   float64      `json:"grad_norm_g"`
	ACGAND      float64      `json:"acgan_d,omitempty"`
	ACGANG      float64      `json:"acgan_g,omitempty"`
	LRG         float64      `json:"lr_g"`
	LRD         float64      `json:"lr_d"`
	ADAP        *float64     `json:"ada_p,omitempty"`
	Timing      statsTimings `json:"timing"`
}

type statsTimings struct {
	SecPerIter float64 `json:"sec_per_iter"`
	HeapMB     float64 `json:"heap_mb"`
	Time       string  `json:"time"`
}

// accum sums an interval's measurements; it is saved in checkpoints so a
// resumed interval gives the same line.
type accum struct {
	Iters, DSteps                           int
	LossD, Wass, Pen, GPNorm, GradD, ACGAND float64
	LossG, GradG, ACGANG, Secs              float64
}

func (a *accum) add(s stepStats, secs float64) {
	a.Iters++
	a.DSteps += s.dSteps
	a.LossD += s.lossD
	a.Wass += s.wass
	a.Pen += s.pen
	a.GPNorm += s.gpNorm
	a.GradD += s.gradD
	a.ACGAND += s.acganD
	a.LossG += s.lossG
	a.GradG += s.gradG
	a.ACGANG += s.acganG
	a.Secs += secs
}

func (r *runDir) stats(t *Trainer) error {
	a := t.acc
	d, n := float64(a.DSteps), float64(a.Iters)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	line := statsLine{
		Iteration: t.it, Iterations: a.Iters,
		LossD: a.LossD / d, LossG: a.LossG / n, Wasserstein: a.Wass / d,
		Penalty: a.Pen / d, GPNorm: a.GPNorm / d, GradNormD: a.GradD / d, GradNormG: a.GradG / n,
		ACGAND: a.ACGAND / d, ACGANG: a.ACGANG / n,
		LRG: t.optG.LR(0), LRD: t.optD.LR(0),
		Timing: statsTimings{SecPerIter: a.Secs / n, HeapMB: float64(ms.HeapAlloc) / (1 << 20), Time: time.Now().UTC().Format(time.RFC3339)},
	}
	if t.ada != nil {
		p := t.ada.P
		line.ADAP = &p
	}
	r.logf("it %d/%d  loss_d %.4f  loss_g %.4f  W %.4f  gp %.4f  %.3f s/it  heap %.0f MB",
		t.it, t.o.Iterations, line.LossD, line.LossG, line.Wasserstein, line.Penalty, line.Timing.SecPerIter, line.Timing.HeapMB)
	if err := appendLine(r.path(StatsFile), line); err != nil {
		return fmt.Errorf("gan: run folder: %w", err)
	}
	return nil
}

func gridCols(n int) int { return max(1, int(math.Ceil(math.Sqrt(float64(n))))) }

func (r *runDir) grid(t *Trainer) error {
	x := t.m.Sampler().Generate(t.gridZ, t.gridL)
	return SaveGrid(r.path(GridName(t.it)), x, gridCols(x.Dim(0)))
}

// MetricRecord is one line of a metric file (see MetricFile): the result of
// an evaluation and the iteration it was made at.
type MetricRecord struct {
	Iteration int            `json:"iteration"`
	Result    metrics.Result `json:"result"`
	Protocol  string         `json:"protocol"`
}

func (r *runDir) metrics(t *Trainer, ev EvalEvent) error {
	for _, res := range ev.Results {
		line := MetricRecord{Iteration: ev.Iteration, Result: res, Protocol: res.String()}
		if err := appendLine(r.path(MetricFile(metricKey(res.Metric))), line); err != nil {
			return fmt.Errorf("gan: run folder: %w", err)
		}
		r.logf("eval it %d: %s", ev.Iteration, res)
	}
	return nil
}

func (r *runDir) saveBest(t *Trainer) error {
	if err := Save(r.path(BestFile), t.m); err != nil {
		return err
	}
	r.logf("best %s %.4f at iteration %d: %s", t.o.Eval.Best, *t.best, t.it, BestFile)
	return nil
}

var _ = tensor.New

func isZeroJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
