package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Invocation is a parsed command line: the command and its options, checked.
// Parse makes one without touching files; Run does the work.
type Invocation struct {
	Cmd  string   // "train", "finetune", ...; "" for gantry's own help
	Args []string // the command's arguments as given, for command.json
	opts runner
}

// runner is the options of one command.
type runner interface {
	// define registers the command's flags.
	define(f *flags)
	// check validates the parsed values and positional arguments; its
	// errors are usage errors.
	check(pos []string) error
	run(c *call) error
}

// command describes a subcommand for dispatch and help.
type command struct {
	name, summary, usage string
	about, examples      string
	new                  func() runner
}

var commands []command

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// Parse reads a command line (without the program name). It returns a
// *UsageError for a wrong one and an error satisfying errors.Is(err,
// errHelp) with the Invocation's Cmd set when help was asked for.
func Parse(args []string) (*Invocation, error) {
	if len(args) == 0 {
		return &Invocation{}, errHelp
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		inv := &Invocation{}
		if len(args) > 1 {
			if lookup(args[1]) == nil {
				return nil, usagef("", "unknown command %q; the commands are %s", args[1], commandNames())
			}
			inv.Cmd = args[1]
		}
		return inv, errHelp
	}
	cmd := lookup(name)
	if cmd == nil {
		return nil, usagef("", "unknown command %q; the commands are %s", name, commandNames())
	}
	opts := cmd.new()
	f := newFlags(name)
	opts.define(f)
	pos, err := f.parse(args[1:])
	inv := &Invocation{Cmd: name, Args: append([]string(nil), args[1:]...), opts: opts}
	if errors.Is(err, flag.ErrHelp) {
		return inv, errHelp
	}
	if err != nil {
		return nil, err
	}
	if err := opts.check(pos); err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			ue.Cmd = name
			return nil, ue
		}
		return nil, &UsageError{Cmd: name, Msg: err.Error()}
	}
	return inv, nil
}

func commandNames() string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// flags wraps a flag.FlagSet: positional arguments may stand between flags,
// errors are usage errors in gantry's words, and help prints "--name".
type flags struct {
	cmd string
	fs  *flag.FlagSet
	set map[string]bool // flags given on the command line
}

func newFlags(cmd string) *flags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{cmd: cmd, fs: fs}
}

func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef(f.cmd, "%s", f.flagError(err))
		}
		args = f.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	f.set = map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return pos, nil
}

// flagError rewrites the flag package's messages with double dashes.
func (f *flags) flagError(err error) string {
	s := err.Error()
	if name, ok := strings.CutPrefix(s, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("unknown flag --%s", printable(name))
	}
	if name, ok := strings.CutPrefix(s, "flag needs an argument: -"); ok {
		return fmt.Sprintf("flag --%s needs a value", printable(name))
	}
	// "invalid value "x" for flag -n: parse error"
	if i := strings.Index(s, " for flag -"); i >= 0 {
		rest := s[i+len(" for flag -"):]
		name, _, _ := strings.Cut(rest, ": ")
		value := strings.TrimPrefix(s[:i], "invalid value ")
		kind := "value"
		if fl := f.fs.Lookup(name); fl != nil {
			if k, _ := flag.UnquoteUsage(fl); k != "" {
				kind = map[string]string{"int": "whole number", "uint": "whole number of 0 or more", "float": "number"}[k]
			} else {
				kind = "true or false"
			}
		}
		return fmt.Sprintf("--%s %s: want a %s", name, value, kind)
	}
	return s
}

func (f *flags) String(p *string, name, value, usage string)      { f.fs.StringVar(p, name, value, usage) }
func (f *flags) Int(p *int, name string, value int, usage string) { f.fs.IntVar(p, name, value, usage) }
func (f *flags) Uint64(p *uint64, name string, value uint64, usage string) {
	f.fs.Uint64Var(p, name, value, usage)
}
func (f *flags) Float(p *float64, name string, value float64, usage string) {
	f.fs.Float64Var(p, name, value, usage)
}
func (f *flags) Bool(p *bool, name string, value bool, usage string) {
	f.fs.BoolVar(p, name, value, usage)
}

// usage returns the flags' help, sorted by name, with "--name value".
func (f *flags) usage() string {
	var b strings.Builder
	var all []*flag.Flag
	f.fs.VisitAll(func(fl *flag.Flag) { all = append(all, fl) })
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for _, fl := range all {
		arg, text := flag.UnquoteUsage(fl)
		head := "  --" + fl.Name
		if arg != "" {
			head += " " + arg
		}
		def := ""
		if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		if len(head) <= 26 {
			fmt.Fprintf(&b, "%-27s%s%s\n", head, text, def)
		} else {
			fmt.Fprintf(&b, "%s\n%27s%s%s\n", head, "", text, def)
		}
	}
	return b.String()
}

func helpText(cmd string) string {
	var b strings.Builder
	c := lookup(cmd)
	if c == nil {
		b.WriteString("gantry transfers GANs (Wang et al., ECCV 2018): fine-tune a GAN pretrained on a large\nsource domain on a few hundred images of a new one.\n\nUsage:\n  gantry COMMAND [flags]\n\nCommands:\n")
		for _, c := range commands {
			fmt.Fprintf(&b, "  %-14s%s\n", c.name, c.summary)
		}
		b.WriteString("\nRun 'gantry COMMAND --help' for a command's flags and examples.\nExit codes: 0 done, 1 failed or interrupted, 2 wrong command line.\n\nExamples:\n  gantry demo\n  gantry finetune --source shipped:mnist --data shipped:fashion --subset 1000\n")
		return b.String()
	}
	f := newFlags(c.name)
	c.new().define(f)
	fmt.Fprintf(&b, "Usage:\n  %s\n\n%s\n\nFlags:\n%s\nExamples:\n%s", c.usage, strings.TrimSpace(c.about), f.usage(), c.examples)
	return b.String()
}

// printable quotes s when it holds characters that do not print.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// list parses "a,b,c" into its non-empty elements.
func list(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// intList parses "0,1,3".
func intList(flagName, s string) ([]int, error) {
	var out []int
	for _, e := range list(s) {
		v, err := strconv.Atoi(e)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %q is not a whole number", flagName, s, e)
		}
		out = append(out, v)
	}
	return out, nil
}

// inRange returns a usage message for a value outside [lo, hi].
func inRange(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("--%s %d is out of range: want %d to %d", name, v, lo, hi)
	}
	return nil
}

func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("--%s %q is not one of %s", name, v, strings.Join(allowed, ", "))
}
