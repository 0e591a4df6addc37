package gan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// LockFile is the file of a run folder on which a training process holds an
// exclusive lock, so that two processes never train in one folder at once:
// each would delete the other's half-written files and interleave
// checkpoints. The lock is advisory (flock) and goes with the process: a
// killed process leaves no stale lock behind. Where the system has no flock
// (not Linux, macOS or a BSD), folders are not locked.
const LockFile = ".lock"

// ErrRunInUse is returned when another process is training in Options.Dir.
var ErrRunInUse = errors.New("gan: another process is training in the run folder; wait for it to finish or choose another folder")

// runLocks holds the run folders this process has locked, by absolute path.
// A process keeps a folder until it exits; it may open the same folder again
// (resume after a finished Train, say).
var runLocks struct {
	sync.Mutex
	held map[string]*os.File
}

// lockRun takes dir for this process, or returns an error wrapping
// ErrRunInUse, naming dir and the holder's process ID, when another process
// holds it.
func lockRun(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("gan: run folder: %w", err)
	}
	runLocks.Lock()
	defer runLocks.Unlock()
	if runLocks.held[abs] != nil {
		return nil
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("gan: run folder: %w", err)
	}
	ok, err := lockFile(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("gan: run folder: locking %s: %w", path, err)
	}
	if !ok {
		f.Close()
		holder := ""
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil {
				holder = fmt.Sprintf(", process %d", pid)
			}
		}
		return fmt.Errorf("%w (%s%s)", ErrRunInUse, dir, holder)
	}
	// The holder's process ID, for the message above; the lock itself is
	// what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if runLocks.held == nil {
		runLocks.held = map[string]*os.File{}
	}
	runLocks.held[abs] = f
	return nil
}
