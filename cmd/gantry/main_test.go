package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary runs as gantry itself when GANTRY_TEST_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("GANTRY_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

func gantry(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GANTRY_TEST_MAIN=1")
	return cmd
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"train", "--iters", "0", "--data", "shipped:mnist"}, 2},
		{[]string{"sample", "--model", "/no/such/file", "--out", "x.png"}, 1},
	} {
		err := gantry(tc.args...).Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, tc.code, code, "gantry %s: exit code", strings.Join(tc.args, " "))
	}
}

// Ctrl-C in the middle of training writes a checkpoint, says how to
// continue and exits 1.
func TestInterrupt(t *testing.T) {
	out := t.TempDir()
	cmd := gantry("train", "--data", "shipped:mnist", "--subset", "50", "--width", "2", "--iters", "100000", "--batch", "2",
		"--n-critic", "1", "--eval", "none", "--grid-size", "4", "--log-every", "1", "--out", out)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "it=3/") {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	go func() { // keep the pipe drained
		for sc.Scan() {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		require.FailNow(t, "gantry did not stop after SIGINT")
	}
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "after SIGINT: stderr %q", stderr.String())
	assert.Equal(t, 1, ee.ExitCode(), "after SIGINT: exit code")
	assert.Contains(t, stderr.String(), "checkpoint", "after SIGINT: stderr")
	assert.Contains(t, stderr.String(), "--resume", "after SIGINT: stderr")
}
