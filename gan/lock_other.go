//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package gan

import "os"

// lockFile takes no lock where the system has no flock (see LockFile).
func lockFile(*os.File) (bool, error) { return true, nil }
