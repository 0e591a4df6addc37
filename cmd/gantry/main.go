// Command gantry transfers GANs from the command line: the demo of the
// paper's main result, training, fine-tuning, sampling, evaluation, source
// ranking and dataset conversion. Run `gantry help` for the commands and
// `gantry COMMAND --help` for a command's flags and examples.
//
//	go run ./cmd/gantry demo
//
// The work is done by package internal/cli; this main only connects it to
// the process: its arguments, its terminal, Ctrl-C (which makes a training
// run write a checkpoint and exit) and its exit code.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gantry-go/gantry/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Stdio())
	stop()
	os.Exit(code)
}
