package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/gantry-go/gantry/gan"
)

// outFlags are the output flags every command has.
type outFlags struct {
	JSON  bool
	Quiet bool
}

func (o *outFlags) define(f *flags) {
	f.Bool(&o.JSON, "json", false, "print one JSON object per event on standard output (the last one is the result)")
	f.Bool(&o.Quiet, "quiet", false, "print only the result and errors")
}

type outMode int

const (
	modeLines outMode = iota // named columns, for logs
	modeBar                  // a progress bar on the terminal
	modeJSON                 // one JSON object per event
	modeQuiet                // the result only
)

// printer shows a command's events in the mode its flags and terminal ask
// for. Its methods are safe for concurrent use.
type printer struct {
	mode     outMode
	stdout   io.Writer
	stderr   io.Writer
	logEvery int

	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	barRun string
}

func newPrinter(env Env, o outFlags) *printer {
	p := &printer{mode: modeLines, stdout: env.Stdout, stderr: env.Stderr, logEvery: 10}
	switch {
	case o.JSON:
		p.mode = modeJSON
	case o.Quiet:
		p.mode = modeQuiet
	case env.Terminal:
		p.mode = modeBar
	}
	return p
}

// info prints a line for people (not in JSON or quiet mode).
func (p *printer) info(format string, args ...any) {
	if p.mode == modeJSON || p.mode == modeQuiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearBar()
	fmt.Fprintf(p.stdout, format+"\n", args...)
}

// event prints one JSON object in JSON mode.
func (p *printer) event(kind string, fields map[string]any) {
	if p.mode != modeJSON {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	writeJSONLine(p.stdout, kind, fields)
}

// result prints the command's result: the JSON object in JSON mode, else
// the text.
func (p *printer) result(text string, fields map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == modeJSON {
		writeJSONLine(p.stdout, "result", fields)
		return
	}
	p.clearBar()
	fmt.Fprint(p.stdout, text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(p.stdout)
	}
}

func writeJSONLine(w io.Writer, kind string, fields map[string]any) {
	obj := map[string]any{"event": kind}
	for k, v := range fields {
		obj[k] = v
	}
	b, err := json.Marshal(finite(obj))
	if err != nil {
		b, _ = json.Marshal(map[string]any{"event": "error", "error": err.Error()})
	}
	fmt.Fprintf(w, "%s\n", b)
}

// finite replaces NaN and infinities, which JSON cannot hold, by nil, in
// the maps, slices and float64s of v (after a JSON round trip of structs).
func finite(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = finite(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = finite(e)
		}
		return out
	case nil, string, bool, int, int64, uint64, json.RawMessage:
		return v
	}
	// A struct or a typed slice goes through JSON (its own floats must
	// marshal NaN themselves, as jfloat does).
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var back any
	if json.Unmarshal(b, &back) != nil {
		return string(b)
	}
	return back
}

// progress reports a training iteration of the run called run.
func (p *printer) progress(run string, pr gan.Progress) {
	last := pr.Iteration == pr.Iterations
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case modeBar:
		if p.bar == nil || p.barRun != run {
			p.finishBar()
			p.bar = progressbar.NewOptions(pr.Iterations,
				progressbar.OptionSetWriter(p.stderr),
				progressbar.OptionSetDescription(run),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("it"),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionSetWidth(30),
			)
			p.barRun = run
		}
		p.bar.Describe(fmt.Sprintf("%s W=%.3f", run, pr.Wasserstein))
		_ = p.bar.Set(pr.Iteration)
		if last {
			p.finishBar()
		}
	case modeLines:
		if pr.Iteration%p.logEvery == 0 || last {
			fmt.Fprintf(p.stdout, "run=%s it=%d/%d loss_d=%.4f loss_g=%.4f wasserstein=%.4f it_per_s=%.2f elapsed=%s eta=%s\n",
				run, pr.Iteration, pr.Iterations, pr.LossD, pr.LossG, pr.Wasserstein, pr.ItPerSec,
				pr.Elapsed.Round(time.Second), pr.ETA.Round(time.Second))
		}
	case modeJSON:
		if pr.Iteration%p.logEvery == 0 || last {
			writeJSONLine(p.stdout, "progress", map[string]any{
				"run": run, "iteration": pr.Iteration, "iterations": pr.Iterations,
				"loss_d": pr.LossD, "loss_g": pr.LossG, "wasserstein": pr.Wasserstein,
				"it_per_sec": pr.ItPerSec, "elapsed_s": pr.Elapsed.Seconds(), "eta_s": pr.ETA.Seconds(),
			})
		}
	}
}

// measured reports metrics of the run called run at an iteration (-1 for
// none).
func (p *printer) measured(run string, it int, ms []Measured) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case modeJSON:
		fields := map[string]any{"run": run, "metrics": ms}
		if it >= 0 {
			fields["iteration"] = it
		}
		writeJSONLine(p.stdout, "eval", fields)
	case modeLines, modeBar:
		p.clearBar()
		for _, m := range ms {
			if it >= 0 {
				fmt.Fprintf(p.stdout, "run=%s it=%d %s\n", run, it, m)
			} else {
				fmt.Fprintf(p.stdout, "run=%s %s\n", run, m)
			}
		}
	}
}

func (p *printer) clearBar() {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
}

func (p *printer) finishBar() {
	if p.bar != nil {
		if p.bar.State().CurrentPercent >= 1 {
			_ = p.bar.Finish()
		} else {
			_ = p.bar.Exit() // stopped early: leave the bar where it stood
		}
		fmt.Fprintln(p.stderr)
		p.bar = nil
	}
}

// done ends any progress bar.
func (p *printer) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishBar()
}
