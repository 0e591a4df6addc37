//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package gan_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gantry-go/gantry/gan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envLockHolder makes the test binary a child that opens a trainer on the
// folder it names, says so, and waits to be killed.
const envLockHolder = "GANTRY_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envLockHolder); dir != "" {
		m, _ := gan.New(tinyCfg, rng(1))
		if _, err := gan.NewTrainer(m, tinyData(12, 0), tinyOpts(dir, 4)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		select {}
	}
	os.Exit(m.Run())
}

// TestRunFolderInUse opens a trainer on a folder that another process is
// training in: it is refused with ErrRunInUse naming the folder and the
// process, and accepted once that process is gone (killed: no stale lock).
// One process may open its own folder again.
func TestRunFolderInUse(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envLockHolder+"="+dir)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer child.Process.Kill()
	line, _ := bufio.NewReader(out).ReadString('\n')
	require.Equal(t, "holding", strings.TrimSpace(line))

	m, _ := gan.New(tinyCfg, rng(1))
	o := tinyOpts(dir, 4)
	o.Resume = true
	_, err = gan.NewTrainer(m, tinyData(12, 0), o)
	require.ErrorIs(t, err, gan.ErrRunInUse)
	assert.ErrorContains(t, err, dir)
	assert.ErrorContains(t, err, fmt.Sprintf("process %d", child.Process.Pid))

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	_, err = gan.NewTrainer(m, tinyData(12, 0), o)
	require.NoError(t, err, "after the holder was killed")
	_, err = gan.NewTrainer(m, tinyData(12, 0), o)
	require.NoError(t, err, "the same process again")
}
