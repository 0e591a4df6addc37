package cli

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse parses arbitrary command lines (arguments separated by NUL
// bytes): Parse never panics and returns an Invocation, help, or a
// *UsageError. The seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		inv, err := Parse(args)
		var ue *UsageError
		switch {
		case err == nil:
			if inv == nil || inv.Cmd != args[0] {
				t.Fatalf("Parse(%q) = %+v without error", args, inv)
			}
		case errors.Is(err, errHelp):
		case !errors.As(err, &ue) || ue.Msg == "":
			t.Fatalf("Parse(%q): error %v (%T) is not a *UsageError", args, err, err)
		}
	})
}
