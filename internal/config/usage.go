package config

import "strings"

const (
	// usageWidth is the widest line of --help; the README embeds the text.
	usageWidth = 100
	// helpColumn is where descriptions start, past the longest flag.
	helpColumn = 30
)

const usageHead = `ScaleSocket serves a script or binary over WebSockets, one process per room.

Usage: scalesocket [OPTIONS] <CMD> [-- <ARGS>...]

Clients connect to ws://HOST:PORT/<room>. The first client of a room starts CMD and later
clients of that room share it. Options may come before or after CMD. Everything after --
is passed to CMD as its arguments, even words that look like options.
`

// Usage returns the text of --help.
func Usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	group := ""
	for i := range options {
		o := &options[i]
		if o.group != group {
			group = o.group
			b.WriteString("\n" + group + ":\n")
		}
		words := strings.Fields(o.help)
		if o.def != "" {
			// One word, so that a default is never split across lines.
			words = append(words, "(default: "+o.def+")")
		}
		lines := wrap(words, usageWidth-helpColumn)
		spec := flagSpec(o)
		b.WriteString(spec + strings.Repeat(" ", helpColumn-len(spec)) + lines[0] + "\n")
		for _, l := range lines[1:] {
			b.WriteString(strings.Repeat(" ", helpColumn) + l + "\n")
		}
	}
	return b.String()
}

// flagSpec is how --help spells an option: "  -b, --binary",
// "      --addr HOST:PORT" or "      --frame[=MODE]".
func flagSpec(o *option) string {
	s := "      --" + o.name
	if o.short != "" {
		s = "  -" + o.short + ", --" + o.name
	}
	switch {
	case o.arg == "":
	case o.bare != "":
		s += "[=" + o.arg + "]"
	default:
		s += " " + o.arg
	}
	return s
}

// wrap joins words into lines of at most width bytes; a longer word gets a
// line of its own.
func wrap(words []string, width int) []string {
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}
