package cli

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/gantry-go/gantry/internal/atomicfile"
	"html/template"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gantry-go/gantry/gan"
	"github.com/gantry-go/gantry/internal/version"
)

// ReportFile is the page every train, finetune and demo run writes into its
// folder; ReportJSON lists the numbers and images it promises, for
// scripts/report/check.sh.
const (
	ReportFile = "report.html"
	ReportJSON = "report.json"
)

func reportPath(dir string) string { return filepath.Join(dir, ReportFile) }

// reportRun is one training run shown in a report.
type reportRun struct {
	Label string
	Dir   string
	Proto Protocol
	Wall  time.Duration // this process's time for the run
}

// runReport is what a report shows: one run, or the demo's two side by side.
type runReport struct {
	Dir     string
	Title   string
	Command *Invocation
	Summary string
	Runs    []reportRun
}

// runFiles is what a report reads from a run folder.
type runFiles struct {
	reportRun
	Options    string // options.json, indented
	Resolution int
	Iterations int
	Stats      []statsLine
	Metrics    map[string][]gan.MetricRecord // by file key: "fid", "kid"
	Grids      map[int]string                // iteration -> fakes file
	Reals      string
}

type statsLine struct {
	Iteration   int     `json:"iteration"`
	LossD       float64 `json:"loss_d"`
	LossG       float64 `json:"loss_g"`
	Wasserstein float64 `json:"wasserstein"`
	Timing      struct {
		SecPerIter float64 `json:"sec_per_iter"`
	} `json:"timing"`
}

func readRun(r reportRun) (*runFiles, error) {
	f := &runFiles{reportRun: r, Grids: map[int]string{}}
	b, err := os.ReadFile(filepath.Join(r.Dir, gan.OptionsFile))
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var opts struct {
		Config  gan.Config `json:"config"`
		Options struct {
			Iterations int `json:"iterations"`
		} `json:"options"`
	}
	if err := json.Unmarshal(b, &opts); err != nil {
		return nil, fmt.Errorf("report: %s: %w", filepath.Join(r.Dir, gan.OptionsFile), err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, b, "", "  ") == nil {
		f.Options = pretty.String()
	} else {
		f.Options = string(b)
	}
	f.Resolution = opts.Config.WithDefaults().Resolution
	f.Iterations = opts.Options.Iterations
	readLines(filepath.Join(r.Dir, gan.StatsFile), func(line []byte) {
		var s statsLine
		if json.Unmarshal(line, &s) == nil {
			f.Stats = append(f.Stats, s)
		}
	})
	f.Metrics, _ = gan.ReadMetrics(r.Dir) // a torn last line: what came before
	grids, _ := filepath.Glob(filepath.Join(r.Dir, "fakes-*.png"))
	for _, g := range grids {
		var it int
		if _, err := fmt.Sscanf(filepath.Base(g), "fakes-%d.png", &it); err == nil {
			f.Grids[it] = g
		}
	}
	if _, err := os.Stat(filepath.Join(r.Dir, gan.RealsFile)); err == nil {
		f.Reals = filepath.Join(r.Dir, gan.RealsFile)
	}
	return f, nil
}

func readLines(path string, fn func([]byte)) {
	file, err := os.Open(path)
	if err != nil {
		return
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fn(sc.Bytes())
	}
}

// reportData feeds the page template.
type reportData struct {
	Title, Command, Version, Generated, Summary string
	Final                                       []finalRow
	Curves                                      []imageData
	StripRuns                                   []string
	Strips                                      []stripRow
	Reals                                       template.URL
	Comparison                                  template.URL
	Timings                                     []timingRow
	Options                                     []optionsBlock
}

type finalRow struct {
	Run, Metric, Value, Protocol string
	Iteration                    int
}

type imageData struct {
	Title string
	Src   template.URL
}

type stripRow struct {
	Iteration int
	Cells     []template.URL // one per run; "" where the run has no grid
}

type timingRow struct {
	Run                    string
	Iterations             int
	SecPerIter, TrainHours string
	Wall                   string
}

type optionsBlock struct{ Run, JSON string }

// promised is report.json: what check.sh must find in the rendered page.
type promised struct {
	Images  int      `json:"images"`
	Numbers []string `json:"numbers"`
}

// writeReport writes report.html and report.json into rep.Dir.
func writeReport(rep runReport) error {
	var runs []*runFiles
	for _, r := range rep.Runs {
		f, err := readRun(r)
		if err != nil {
			return err
		}
		runs = append(runs, f)
	}
	d := reportData{Title: rep.Title, Version: version.Version, Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Summary: rep.Summary}
	if rep.Command != nil {
		d.Command = "gantry " + rep.Command.Cmd + " " + strings.Join(rep.Command.Args, " ")
	}
	var prom promised
	// The final table: the last evaluation of each metric of each run.
	for _, r := range runs {
		for _, key := range sortedKeys(r.Metrics) {
			ls := r.Metrics[key]
			last := ls[len(ls)-1]
			m := measure(last.Result, r.Proto)
			row := finalRow{Run: r.Label, Metric: m.Metric, Iteration: last.Iteration, Value: formatValue(m.Metric, float64(m.Value)), Protocol: m.Protocol.String()}
			if m.Metric == "KID" {
				row.Value += " ± " + formatValue(m.Metric, float64(m.Std))
			}
			d.Final = append(d.Final, row)
			prom.Numbers = append(prom.Numbers, formatValue(m.Metric, float64(m.Value)))
		}
	}
	// Curves: one plot per metric with a line per run, and the critic's
	// Wasserstein estimate.
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			keys[k] = true
		}
	}
	for _, key := range sortedKeys(keys) {
		var series []series
		title := key
		for _, r := range runs {
			var xy plotter.XYs
			for _, l := range r.Metrics[key] {
				xy = append(xy, plotter.XY{X: float64(l.Iteration), Y: l.Result.Value})
				title = l.Result.Metric
				if l.Result.Extractor != "" {
					title += " (" + l.Result.Extractor + " features; lower is better)"
				}
			}
			series = append(series, seriesOf(r.Label, xy))
		}
		src, err := plotPNG(title, "iteration", series)
		if err != nil {
			return err
		}
		d.Curves = append(d.Curves, imageData{Title: title, Src: src})
	}
	var ws []series
	for _, r := range runs {
		var xy plotter.XYs
		for _, s := range r.Stats {
			xy = append(xy, plotter.XY{X: float64(s.Iteration), Y: s.Wasserstein})
		}
		ws = append(ws, seriesOf(r.Label, xy))
	}
	if src, err := plotPNG("critic's Wasserstein estimate", "iteration", ws); err == nil && len(runs[0].Stats) > 0 {
		d.Curves = append(d.Curves, imageData{Title: "critic's Wasserstein estimate", Src: src})
	}
	// Fixed-noise strips: the first row of each grid, runs side by side.
	its := map[int]bool{}
	for _, r := range runs {
		d.StripRuns = append(d.StripRuns, r.Label)
		for it := range r.Grids {
			its[it] = true
		}
	}
	for _, it := range sortedKeys(its) {
		row := stripRow{Iteration: it}
		for _, r := range runs {
			var src template.URL
			if path, ok := r.Grids[it]; ok {
				src, _ = firstRow(path, r.Resolution)
			}
			row.Cells = append(row.Cells, src)
		}
		d.Strips = append(d.Strips, row)
	}
	if len(runs) > 1 {
		d.Comparison, _ = fileURL(filepath.Join(rep.Dir, ComparisonFile))
	}
	if runs[0].Reals != "" {
		d.Reals, _ = fileURL(runs[0].Reals)
	}
	for _, r := range runs {
		var secs float64
		var n int
		for _, s := range r.Stats {
			secs += s.Timing.SecPerIter
			n++
		}
		row := timingRow{Run: r.Label, Wall: r.Wall.Round(time.Second).String()}
		if len(r.Stats) > 0 {
			row.Iterations = r.Stats[len(r.Stats)-1].Iteration
			row.SecPerIter = fmt.Sprintf("%.3f", secs/float64(n))
		}
		d.Timings = append(d.Timings, row)
		d.Options = append(d.Options, optionsBlock{Run: r.Label, JSON: r.Options})
	}
	var page bytes.Buffer
	if err := reportTemplate.Execute(&page, d); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	prom.Images = strings.Count(page.String(), "<img ")
	if err := atomicfile.WriteBytes(filepath.Join(rep.Dir, ReportFile), page.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b, _ := json.MarshalIndent(prom, "", "  ")
	return atomicfile.WriteBytes(filepath.Join(rep.Dir, ReportJSON), append(b, '\n'))
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	var ks []K
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

type series struct {
	label string
	xy    plotter.XYs
}

func seriesOf(label string, xy plotter.XYs) series { return series{label, xy} }

// plotPNG draws lines with points, one per series, as a PNG data URI.
func plotPNG(title, xlabel string, ss []series) (template.URL, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Add(plotter.NewGrid())
	drawn := 0
	for i, s := range ss {
		var xy plotter.XYs
		for _, v := range s.xy {
			if !math.IsNaN(v.Y) && !math.IsInf(v.Y, 0) {
				xy = append(xy, v)
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return "", err
		}
		l.Color = plotutil.Color(i)
		pts.Color = plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(s.label, l, pts)
		drawn++
	}
	if drawn == 0 {
		return "", fmt.Errorf("report: nothing to plot for %s", title)
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(5*vg.Inch, 3*vg.Inch, "png")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", err
	}
	return dataURL(buf.Bytes()), nil
}

func dataURL(pngBytes []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes))
}

func fileURL(path string) (template.URL, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return dataURL(b), nil
}

// stripImages is the number of samples of a strip.
const stripImages = 6

// firstRow crops the first stripImages samples of the first row of images of a grid written by gan.SaveGrid
// (padding gan.GridPadding around images of side res).
func firstRow(path string, res int) (template.URL, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return "", err
	}
	b := img.Bounds()
	h := min(b.Dy(), res+2*gan.GridPadding)
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return fileURL(path)
	}
	var buf bytes.Buffer
	w := min(b.Dx(), gan.GridPadding+stripImages*(res+gan.GridPadding))
	if err := png.Encode(&buf, sub.SubImage(image.Rect(b.Min.X, b.Min.Y, b.Min.X+w, b.Min.Y+h))); err != nil {
		return "", err
	}
	return dataURL(buf.Bytes()), nil
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; max-height: 24em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: middle; }
td.value { font-weight: bold; white-space: nowrap; } td.protocol { font-size: 0.8em; color: #555; }
img.strip, img.reals { image-rendering: pixelated; height: 72px; }
img.reals { height: auto; width: 420px; }
img.comparison { image-rendering: pixelated; width: 100%; max-width: 900px; }
.summary { font-size: 1.1em; background: #eef6ee; padding: 0.8em; border-left: 4px solid #4a4; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p><code>{{.Command}}</code><br>gantry {{.Version}}, {{.Generated}}</p>
{{if .Summary}}<p class="summary" id="summary">{{.Summary}}</p>{{end}}
{{if .Comparison}}<figure><img class="comparison" src="{{.Comparison}}" alt="last samples, pretrained and from scratch"><figcaption>The same latent vectors at the last iteration: fine-tuned from the source (left) and trained from scratch (right).</figcaption></figure>{{end}}

<h2>Final metrics</h2>
{{if .Final}}<table id="final">
<tr><th>run</th><th>metric</th><th>value</th><th>iteration</th><th>protocol</th></tr>
{{range .Final}}<tr><td>{{.Run}}</td><td>{{.Metric}}</td><td class="value">{{.Value}}</td><td>{{.Iteration}}</td><td class="protocol">{{.Protocol}}</td></tr>
{{end}}</table>
<p>Values on gantry-gray features are not Inception FID and must not be compared with published numbers.</p>
{{else}}<p>No evaluation in this run (give held-out images with --eval).</p>{{end}}

<h2>Metric curves</h2>
{{range .Curves}}<figure><img class="curve" src="{{.Src}}" alt="{{.Title}}"><figcaption>{{.Title}}</figcaption></figure>
{{end}}

<h2>Fixed-noise samples over iterations</h2>
<p>The first samples of each fixed-noise grid (the same latent vectors at every iteration{{if gt (len .StripRuns) 1}}, and for every run{{end}}).</p>
<table id="strips">
<tr><th>iteration</th>{{range .StripRuns}}<th>{{.}}</th>{{end}}</tr>
{{range .Strips}}<tr><td>{{.Iteration}}</td>{{range .Cells}}<td>{{if .}}<img class="strip" src="{{.}}" alt="samples">{{end}}</td>{{end}}</tr>
{{end}}</table>
{{if .Reals}}<h2>Training images</h2>
<img class="reals" src="{{.Reals}}" alt="training images">{{end}}

<h2>Timings</h2>
<table id="timings">
<tr><th>run</th><th>iterations</th><th>mean s/iteration</th><th>wall time in the last process</th></tr>
{{range .Timings}}<tr><td>{{.Run}}</td><td>{{.Iterations}}</td><td>{{.SecPerIter}}</td><td>{{.Wall}}</td></tr>
{{end}}</table>

<h2>Options</h2>
{{range .Options}}<h3>{{.Run}}</h3><pre>{{.JSON}}</pre>
{{end}}
<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  }
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
});
</script>
</body>
</html>
`))
