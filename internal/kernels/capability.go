package kernels

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// EnvCapability names the environment variable that caps the instruction set
// of the assembly kernels, as ATEN_CPU_CAPABILITY does PyTorch's: "avx512",
// "avx2" or "generic" (plain Go). It is read once, when the package is
// initialised. See the package documentation.
const EnvCapability = "GANTRY_CPU_CAPABILITY"

// isaLevel is an instruction set the kernels can run on, in increasing order.
type isaLevel int

const (
	levelGeneric isaLevel = iota // the plain-Go kernels
	levelAVX2                    // AVX2 and FMA
	levelAVX512                  // AVX-512F
)

var levelNames = [...]string{levelGeneric: "generic", levelAVX2: "avx2", levelAVX512: "avx512"}

func (l isaLevel) String() string { return levelNames[l] }

// level is the instruction set whose kernels are selected: the best this CPU
// and build have (hwLevel), capped by GANTRY_CPU_CAPABILITY. Every choice of
// a kernel in the package depends on it alone, never on the CPU's feature
// bits directly, so a capped machine runs exactly what a machine with only
// that instruction set runs.
var level = capLevel(hwLevel(), os.Getenv(EnvCapability), os.Stderr)

// Capability reports the instruction set of the kernels in use: "avx512",
// "avx2" or "generic".
func Capability() string { return level.String() }

// capLevel returns the level to use on hardware supporting hw, given the
// value of GANTRY_CPU_CAPABILITY (case and surrounding blanks ignored; empty
// means no cap). An unknown value is ignored; a value above hw caps nothing
// and runs hw. Both say so on warn.
func capLevel(hw isaLevel, env string, warn io.Writer) isaLevel {
	v := strings.ToLower(strings.TrimSpace(env))
	if v == "" {
		return hw
	}
	for l, name := range levelNames {
		if v != name {
			continue
		}
		if isaLevel(l) > hw {
			fmt.Fprintf(warn, "gantry: %s=%s is above what this CPU and build support; using %s\n", EnvCapability, env, hw)
			return hw
		}
		return isaLevel(l)
	}
	fmt.Fprintf(warn, "gantry: %s=%q is not one of avx512, avx2, generic; ignored, using %s\n", EnvCapability, env, hw)
	return hw
}
