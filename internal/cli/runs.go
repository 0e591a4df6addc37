package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gantry-go/gantry/internal/atomicfile"
	"github.com/gantry-go/gantry/internal/version"
)

// call is one running command.
type call struct {
	ctx context.Context
	env Env
	inv *Invocation
	out *printer
}

// Run does the work of a parsed command line. A command that trains
// resumes first: with --resume DIR, the command line saved in DIR's
// command.json is parsed again with the given flags after it, so that
// `gantry finetune --resume DIR` needs nothing else and `--iters` may raise
// the target.
func (inv *Invocation) Run(ctx context.Context, env Env) error {
	if r, ok := inv.opts.(resumer); ok && r.resumeDir() != "" {
		merged, err := inv.resumed(r)
		if err != nil {
			return err
		}
		inv = merged
	}
	c := &call{ctx: ctx, env: env, inv: inv}
	return inv.opts.run(c)
}

// runFlags are the run folder flags of the training commands.
type runFlags struct {
	Out    string
	Name   string
	Resume string
	DryRun bool
	dir    string // the run folder, once known
}

func (r *runFlags) define(f *flags) {
	f.String(&r.Out, "out", "runs", "folder of the numbered run folders")
	f.String(&r.Name, "name", "", "name of the run folder after its number (default: the command and the data)")
	f.String(&r.Resume, "resume", "", "continue the run in this folder from its latest checkpoint (\"latest\": the newest run of this command in --out)")
	f.Bool(&r.DryRun, "dry-run", false, "print the options, model sizes and data, and exit")
}

func (r *runFlags) check() error {
	if r.Out == "" {
		return errors.New("--out must name a folder")
	}
	if r.Name != "" && sanitize(r.Name) != r.Name {
		return fmt.Errorf("--name %q: use letters, digits, '.', '_' and '-' only", r.Name)
	}
	return nil
}

func (r *runFlags) resumeDir() string { return r.Resume }

type resumer interface{ resumeDir() string }

// commandFile records a run's command line in its folder.
const commandFile = "command.json"

type commandRecord struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
	Gantry  string   `json:"gantry_version"`
	Started string   `json:"started"`
}

var runName = regexp.MustCompile(`^(\d{5})-`)

// newRun makes the next numbered folder under out: out/00003-cmd-label.
func newRun(out, cmd, label string) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("cannot make the runs folder: %w", err)
	}
	for try := 0; try < 100; try++ {
		entries, err := os.ReadDir(out)
		if err != nil {
			return "", err
		}
		next := 0
		for _, e := range entries {
			if m := runName.FindStringSubmatch(e.Name()); m != nil {
				n, _ := strconv.Atoi(m[1])
				next = max(next, n+1)
			}
		}
		dir := filepath.Join(out, fmt.Sprintf("%05d-%s-%s", next, cmd, label))
		err = os.Mkdir(dir, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue // another gantry took the number
		}
		if err != nil {
			return "", fmt.Errorf("cannot make the run folder: %w", err)
		}
		return dir, nil
	}
	return "", fmt.Errorf("cannot find a free run number in %s", out)
}

// latestRun returns the newest run folder of cmd under out.
func latestRun(out, cmd string) (string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return "", fmt.Errorf("--resume latest: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && runName.MatchString(e.Name()) {
			if _, err := os.Stat(filepath.Join(out, e.Name(), commandFile)); err == nil {
				if rec, err := readCommand(filepath.Join(out, e.Name())); err == nil && rec.Command == cmd {
					names = append(names, e.Name())
				}
			}
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("--resume latest: %s holds no %s run; give the run folder", out, cmd)
	}
	slices.Sort(names)
	return filepath.Join(out, names[len(names)-1]), nil
}

func writeCommand(dir, cmd string, args []string) error {
	rec := commandRecord{Command: cmd, Args: withoutResume(args), Gantry: version.Version, Started: time.Now().UTC().Format(time.RFC3339)}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, commandFile), append(b, '\n'))
}

func readCommand(dir string) (*commandRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, commandFile))
	if err != nil {
		return nil, err
	}
	var rec commandRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, commandFile), err)
	}
	return &rec, nil
}

// withoutResume drops --resume and its value (and --dry-run) from args.
func withoutResume(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--resume" || a == "-resume":
			i++
		case regexp.MustCompile(`^--?resume=`).MatchString(a):
		case a == "--dry-run" || a == "-dry-run":
		default:
			out = append(out, a)
		}
	}
	return out
}

// resumed parses the saved command line of the run to resume with this
// invocation's arguments after it.
func (inv *Invocation) resumed(r resumer) (*Invocation, error) {
	dir := r.resumeDir()
	if dir == "latest" {
		var out string
		if rf, ok := inv.opts.(interface{ runOut() string }); ok {
			out = rf.runOut()
		}
		var err error
		if dir, err = latestRun(out, inv.Cmd); err != nil {
			return nil, err
		}
	}
	rec, err := readCommand(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--resume %s: not a gantry run folder (no %s); give a folder that gantry %s made", dir, commandFile, inv.Cmd)
	}
	if err != nil {
		return nil, err
	}
	if rec.Command != inv.Cmd {
		return nil, fmt.Errorf("--resume %s: that folder holds a %s run; resume it with gantry %s --resume %s", dir, rec.Command, rec.Command, dir)
	}
	args := append(slices.Clone(rec.Args), withoutResume(inv.Args)...)
	args = append(args, "--resume", dir)
	if slices.Contains(inv.Args, "--dry-run") {
		args = append(args, "--dry-run")
	}
	merged, err := Parse(append([]string{inv.Cmd}, args...))
	if err != nil {
		return nil, err
	}
	merged.Args = args
	return merged, nil
}

// prepare returns the run folder to train in: the one to resume or a new
// numbered one, with command.json written. With --dry-run it makes nothing
// and returns the name a run would get.
func (r *runFlags) prepare(inv *Invocation, label string) (dir string, resume bool, err error) {
	if r.Resume != "" {
		r.dir = r.Resume
		return r.Resume, true, nil
	}
	if r.Name != "" {
		label = r.Name
	}
	if r.DryRun {
		return filepath.Join(r.Out, fmt.Sprintf("NNNNN-%s-%s", inv.Cmd, label)), false, nil
	}
	dir, err = newRun(r.Out, inv.Cmd, label)
	if err != nil {
		return "", false, err
	}
	if err := writeCommand(dir, inv.Cmd, inv.Args); err != nil {
		return "", false, err
	}
	r.dir = dir
	return dir, false, nil
}

func (r *runFlags) runOut() string { return r.Out }

// interrupted turns a training error after Ctrl-C into one line that says
// how to continue.
func interrupted(c *call, err error, dir string, it int, ckpt string) error {
	if err == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("interrupted at iteration %d; checkpoint %s written; continue with: gantry %s --resume %s", it, ckpt, c.inv.Cmd, dir)
}
