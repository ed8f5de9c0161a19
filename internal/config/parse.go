package config

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"
)

// Version is the version of ScaleSocket that --version reports.
const Version = "0.1.0"

// ErrHelp is returned by Parse when -h or --help is given: the caller prints
// Usage to stdout and exits with status 0.
var ErrHelp = errors.New("help requested")

// ErrVersion is returned by Parse when -V or --version is given: the caller
// prints "scalesocket " + Version to stdout and exits with status 0.
var ErrVersion = errors.New("version requested")

// UsageError is bad usage of the command line. Msg is one line naming the
// problem, fit to be printed after "scalesocket: "; the caller adds the
// hint to try --help and exits with status 2.
type UsageError struct {
	Msg string
}

// Error returns Msg.
func (e *UsageError) Error() string { return e.Msg }

func usageErrorf(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// Parse reads the command line (without the program name) into a Config with
// every default applied and every value checked. It returns ErrHelp,
// ErrVersion or a *UsageError when there is nothing to run.
//
// -h and -V win over a mistake that comes after them, as with GNU tools, so
// that "scalesocket --help --foo" still helps.
func Parse(args []string) (*Config, error) {
	p := parser{cfg: defaults(), given: make(map[string]bool)}
	fs := pflag.NewFlagSet("scalesocket", pflag.ContinueOnError)
	// pflag would print its own message and usage; ours is the one line.
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	for i := range options {
		o := &options[i]
		f := fs.VarPF(&value{o: o, p: &p}, o.name, o.short, o.help)
		if o.bare != "" {
			f.NoOptDefVal = o.bare
		}
	}

	err := fs.Parse(args)
	switch {
	case p.given["help"]:
		return nil, ErrHelp
	case p.given["version"]:
		return nil, ErrVersion
	case err != nil:
		return nil, reword(err, args)
	}

	for _, c := range conflicts {
		if p.given[c[0]] && p.given[c[1]] {
			return nil, usageErrorf("--%s conflicts with --%s", c[0], c[1])
		}
	}
	if p.given["cachepersist"] && !p.given["cache"] {
		return nil, usageErrorf("--cachepersist requires --cache")
	}
	for _, name := range []string{"clustercreds", "nodename", "placement", "leasettl"} {
		if p.given[name] && !p.given["cluster"] {
			return nil, usageErrorf("--%s requires --cluster", name)
		}
	}
	if p.given["tlscert"] != p.given["tlskey"] {
		return nil, usageErrorf("--tlscert and --tlskey go together")
	}
	c := &p.cfg
	if p.given["json"] {
		c.ClientFrame, c.ServerFrame = FrameJSON, FrameJSON
		// An explicit message says what this user's process expects.
		if !p.given["joinmsg"] {
			c.JoinMsg = jsonJoinMsg
		}
		if !p.given["leavemsg"] {
			c.LeaveMsg = jsonLeaveMsg
		}
	}
	if p.given["null"] {
		c.Delimiters = "\x00"
	}

	if err := p.positionals(fs); err != nil {
		return nil, err
	}
	return c, nil
}

// parser is the state of one Parse call.
type parser struct {
	cfg Config
	// given records the flags on the command line; a switch counts only
	// while it is true, so "--json=false" does not conflict with --frame.
	given map[string]bool
}

// positionals takes CMD and, after --, its arguments.
func (p *parser) positionals(fs *pflag.FlagSet) error {
	rest := fs.Args()
	n := fs.ArgsLenAtDash()
	if n < 0 {
		n = len(rest)
	}
	before, after := rest[:n], rest[n:]
	switch {
	case len(before) == 0 && len(after) > 0:
		return usageErrorf("missing CMD before --")
	case len(before) == 0:
		return usageErrorf("missing CMD")
	case before[0] == "":
		return usageErrorf("CMD must not be empty")
	case len(before) > 1:
		cmd, extra := before[0], before[1]
		// "--frame gwsocket ./cmd.sh" took gwsocket as CMD: say why.
		if p.given["frame"] && (cmd == "json" || cmd == "gwsocket") {
			return usageErrorf("unexpected argument %q after CMD %q; "+
				"write --frame=%s, as --frame takes its MODE only after =", extra, cmd, cmd)
		}
		return usageErrorf("unexpected argument %q after CMD %q; "+
			"arguments for CMD go after --", extra, cmd)
	}
	p.cfg.Command = before[0]
	if len(after) > 0 {
		p.cfg.Args = append([]string(nil), after...)
	}
	return nil
}

// value connects one option to pflag.
type value struct {
	o *option
	p *parser
}

func (v *value) Set(s string) error {
	if !v.o.isSwitch() {
		if err := v.o.set(&v.p.cfg, s); err != nil {
			return err
		}
		v.p.given[v.o.name] = true
		return nil
	}
	b, err := parseBool(s)
	if err != nil {
		return err
	}
	if v.o.target != nil {
		*v.o.target(&v.p.cfg) = b
	}
	v.p.given[v.o.name] = b
	return nil
}

func (v *value) String() string { return "" }
func (v *value) Type() string   { return "value" }

// IsBoolFlag tells pflag that a switch needs no value.
func (v *value) IsBoolFlag() bool { return v.o.isSwitch() }

// defaults parses every option's default through the option itself, so that
// what --help shows is what Parse does.
func defaults() Config {
	c := Config{Delimiters: "\n"}
	for i := range options {
		o := &options[i]
		if o.def == "" {
			continue
		}
		if err := o.set(&c, o.def); err != nil {
			panic(fmt.Sprintf("config: default %q of --%s: %v", o.def, o.name, err))
		}
	}
	return c
}

// reword turns pflag's errors into our one-line style.
func reword(err error, args []string) error {
	var (
		invalid  *pflag.InvalidValueError
		required *pflag.ValueRequiredError
		unknown  *pflag.NotExistError
		syntax   *pflag.InvalidSyntaxError
	)
	switch {
	case errors.As(err, &invalid):
		return usageErrorf("invalid value %q for --%s: %v",
			invalid.GetValue(), invalid.GetFlag().Name, errors.Unwrap(invalid))
	case errors.As(err, &required):
		return usageErrorf("missing value for --%s", printable(required.GetSpecifiedName()))
	case errors.As(err, &unknown):
		if unknown.GetSpecifiedShortnames() == "" {
			return usageErrorf("unknown flag: %s", printable("--"+unknown.GetSpecifiedName()))
		}
		return unknownShort(unknown.GetSpecifiedName(), unknown.GetSpecifiedShortnames(), args)
	case errors.As(err, &syntax):
		return usageErrorf("bad flag syntax: %s", printable(syntax.GetSpecifiedFlag()))
	}
	return usageErrorf("%s", printable(err.Error()))
}

// unknownShort names an unknown letter c and, when it sits in a longer word,
// the word, because "-json" fails at its "j" though the user meant --json.
// pflag reports only the tail of the word from c on, so the word is looked
// up among the arguments.
func unknownShort(c, tail string, args []string) error {
	word := "-" + tail
	for _, a := range args {
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.HasSuffix(a, tail) {
			word = a
			break
		}
	}
	if word == "-"+c {
		return usageErrorf("unknown flag: %s", printable(word))
	}
	name, _, _ := strings.Cut(word[1:], "=")
	for i := range options {
		if options[i].name == name {
			return usageErrorf("unknown flag: %s in %s; did you mean --%s?",
				printable("-"+c), printable(word), name)
		}
	}
	return usageErrorf("unknown flag: %s in %s", printable("-"+c), printable(word))
}

// printable returns s as typed unless it would not print as one plain line
// (control characters, invalid UTF-8), in which case it is quoted.
func printable(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
