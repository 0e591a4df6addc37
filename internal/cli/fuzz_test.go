package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds command lines (arguments separated by NUL bytes) to
// Parse: it must never panic, must refuse with a *UsageError or accept, and
// an accepted command line must parse again to the same options.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"demo\x00--quick",
		"demo\x00--iters\x00-3",
		"train\x00--data\x00shipped:mnist\x00--iters\x0010\x00--width\x008",
		"train\x00--resolution=64\x00--data=x",
		"finetune\x00--data\x00shipped:fashion\x00--freeze-g\x000,1,3\x00--unfreeze\x00500:g.blocks.3.\x00--lr-mult\x00g.=0.1,d.blocks.0.=2",
		"finetune\x00--data\x00d\x00--unfreeze\x00:\x00--lr-mult\x00=",
		"finetune\x00--freeze-d\x009",
		"eval\x00--model\x00m\x00--real\x00shipped:mnist-eval\x00--metrics\x00fid,kid,pr,iw",
		"eval\x00--fake\x00f\x00--real\x00r\x00--metrics\x00iw",
		"sample\x00--model\x00shipped:mnist\x00--out\x00a.png\x00--class\x00-2",
		"rank-sources\x00--target\x00shipped:fashion\x00--sources\x00,,",
		"dataset\x00src\x00--out\x00o\x00--resolution\x0032\x00--channels\x002",
		"dataset\x00a\x00b",
		"help\x00train",
		"version\x00--json",
		"train\x00--seed\x0018446744073709551616",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		if s != "" {
			args = strings.Split(s, "\x00")
		}
		inv, err := Parse(args)
		if errors.Is(err, errHelp) {
			return
		}
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) = %v, not a usage error", args, err)
			}
			if strings.Contains(ue.Msg, "\n") {
				t.Fatalf("Parse(%q): a message of several lines: %q", args, ue.Msg)
			}
			return
		}
		again, err := Parse(append([]string{inv.Cmd}, inv.Args...))
		if err != nil {
			t.Fatalf("Parse(%q) accepted, then refused its own arguments: %v", args, err)
		}
		if !reflect.DeepEqual(again.opts, inv.opts) {
			t.Fatalf("Parse(%q) twice: %+v, then %+v", args, inv.opts, again.opts)
		}
	})
}
