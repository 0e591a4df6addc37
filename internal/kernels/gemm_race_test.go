//go:build race

package kernels

// raceEnabled trims the conformance cube under the race detector, which
// slows the reference and every kernel down tenfold.
const raceEnabled = true
