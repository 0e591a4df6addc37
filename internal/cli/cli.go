// Package cli is the gantry command: it turns command lines into the options
// of packages gan, transfer and metrics, runs them, and prints what happens.
// cmd/gantry is a thin main around Main, so every command can be run and
// tested in-process.
//
// # Commands
//
//	demo          fine-tune the shipped MNIST source on 1,000 Fashion-MNIST images beside training from scratch
//	train         train a GAN from scratch
//	finetune      adapt a source GAN to a target dataset (every option of transfer.FineTune)
//	sample        write samples of a model as a grid or as files
//	eval          measure a model or a folder of images against real images (FID, KID, precision/recall, IW)
//	rank-sources  score source GANs against a target before fine-tuning
//	dataset       convert a folder of mixed images into a clean dataset with a manifest
//	version       print gantry's version
//
// # Conventions
//
// Flags are the same across commands (--data, --out, --seed, --iters,
// --batch, --json, --quiet, --dry-run); `gantry help CMD` and `gantry CMD
// --help` print a command's flags with examples. Exit codes: 0 done, 1 the
// work failed or was interrupted, 2 the command line is wrong. An error is one
// line that names what is wrong and what to do.
//
// Training commands write numbered run folders under --out (runs/ by
// default): runs/00003-finetune-fashion1k/ holds the gan trainer's files,
// command.json (the command line, so that `--resume DIR` needs no other
// flag) and report.html. Ctrl-C writes a checkpoint and exits; `--resume DIR`
// (or `--resume latest`) continues exactly.
//
// On a terminal, long work draws a progress bar on standard error. Otherwise
// it prints log lines of named columns ("it=120/400 loss_d=-0.41 ..."),
// --json prints one JSON object per event on standard output instead, and
// --quiet prints only the final result and errors.
//
// Every metric printed or stored carries its protocol (Protocol): the
// extractor and a fingerprint of its weights, the sample counts, the resize
// filter, the covariance estimator, KID's subsets and the seed.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Exit codes of Main.
const (
	ExitOK      = 0 // the work is done
	ExitFailure = 1 // the work failed or was interrupted (after a checkpoint)
	ExitUsage   = 2 // the command line is wrong
)

// Env is the world a command runs in: where it prints and whether standard
// error is a terminal (which draws progress bars).
type Env struct {
	Stdout, Stderr io.Writer
	// Terminal reports that Stderr is a terminal.
	Terminal bool
}

// Stdio returns the process's environment.
func Stdio() Env {
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, Terminal: term.IsTerminal(int(os.Stderr.Fd()))}
}

// UsageError is an error in the command line: Main exits with ExitUsage.
type UsageError struct {
	Cmd string // the command, "" for gantry itself
	Msg string
}

func (e *UsageError) Error() string { return e.Msg }

func usagef(cmd, format string, args ...any) error {
	return &UsageError{Cmd: cmd, Msg: fmt.Sprintf(format, args...)}
}

// errHelp is returned by Parse for --help: Main prints the help and exits 0.
var errHelp = errors.New("help requested")

// Main runs the command line args (without the program name) and returns the
// exit code. ctx cancels long work: a training run then writes a checkpoint
// and Main returns ExitFailure.
func Main(ctx context.Context, args []string, env Env) int {
	inv, err := Parse(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(env.Stdout, helpText(inv.Cmd))
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		name := "gantry"
		if ue.Cmd != "" {
			name += " " + ue.Cmd
		}
		fmt.Fprintf(env.Stderr, "%s: %s\nRun '%s --help' for usage.\n", name, oneLine(ue.Msg), name)
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "gantry: %s\n", oneLine(err.Error()))
		return ExitFailure
	}
	if err := inv.Run(ctx, env); err != nil {
		if errors.As(err, &ue) {
			fmt.Fprintf(env.Stderr, "gantry %s: %s\nRun 'gantry %s --help' for usage.\n", inv.Cmd, oneLine(ue.Msg), inv.Cmd)
			return ExitUsage
		}
		fmt.Fprintf(env.Stderr, "gantry %s: %s\n", inv.Cmd, oneLine(err.Error()))
		return ExitFailure
	}
	return ExitOK
}

// oneLine folds an error that spans lines (a list of invalid options) into
// one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	fields := strings.Split(s, "\n")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}
