// Package archtest holds the test that keeps docs/ARCHITECTURE.md true: the
// package map there must list every package of the module, with exactly the
// gantry packages each one's non-test files import, and no import may point
// to a higher layer. It has no code of its own.
package archtest
