//go:build noasm

package cli

const noasm = true
