package browser

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// examples are the examples that have a page and a browser test.
var examples = []string{"chat", "multiplayer", "whiteboard", "tcp"}

// commandPrefix starts the one command of each example's README.
const commandPrefix = "$ go run ./cmd/scalesocket "

// readmeCommand returns the words of the command in the README at path: the
// first line that starts with commandPrefix, with the lines that it
// continues with a trailing backslash, split as a POSIX shell splits them.
func readmeCommand(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var line string
	found := false
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		l := lines.Text()
		if !found && !strings.HasPrefix(l, commandPrefix) {
			continue
		}
		found = true
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line += cont
			continue
		}
		line += l
		break
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: no line starts with %q", path, commandPrefix)
	}
	words, err := shellWords(strings.TrimPrefix(line, "$ "))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return words, nil
}

// shellWords splits a command line as sh does, for the simple commands of
// the READMEs: blanks separate words, single quotes keep everything, double
// quotes keep everything but \" \\ \$ \`, and a backslash outside quotes
// keeps the next character. Anything that would make the shell do more than
// split (variables, substitutions, pipes, redirections, globs) is an error,
// so the commands stay simple to copy.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			for i++; ; i++ {
				if i == len(s) {
					return nil, errors.New("unterminated double quote")
				}
				if s[i] == '"' {
					break
				}
				if s[i] == '$' || s[i] == '`' {
					return nil, fmt.Errorf("%q in double quotes: keep the command simple", s[i])
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("backslash at the end")
			}
			i++
			w.WriteByte(s[i])
		case strings.IndexByte("$`|&;<>()*?[", c) >= 0, (c == '#' || c == '~') && !inWord:
			return nil, fmt.Errorf("unquoted %q: keep the command simple", c)
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "go run ./x  a\tb", want: []string{"go", "run", "./x", "a", "b"}},
		{in: `--joinmsg '{"t":"Join","_from":#ID}' x`, want: []string{"--joinmsg", `{"t":"Join","_from":#ID}`, "x"}},
		{in: `a"b c"'d e'f`, want: []string{"ab cd ef"}},
		{in: `"a\"b\\c\d"`, want: []string{`a"b\c\d`}},
		{in: `a\ b ''`, want: []string{"a b", ""}},
		{in: "--cache=all:10 a#b", want: []string{"--cache=all:10", "a#b"}},
		{in: "a 'b", bad: true},
		{in: `a "b`, bad: true},
		{in: "a $HOME", bad: true},
		{in: `a "$HOME"`, bad: true},
		{in: "a | b", bad: true},
		{in: "a > b", bad: true},
		{in: "a *.sh", bad: true},
		{in: "a #comment", bad: true},
		{in: "a ~/x", bad: true},
	} {
		got, err := shellWords(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("shellWords(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestExampleREADMEs checks, without a browser, that each example has a page,
// a README whose command serves that page, and the screenshot it shows; and
// that the command of the main README is the chat example's, which the
// browser tests run.
func TestExampleREADMEs(t *testing.T) {
	t.Parallel()
	main, err := readmeCommand(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	chat, err := readmeCommand(filepath.Join(root, "examples", "chat", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(main, chat) {
		t.Errorf("the README's first command is\n%q\nnot the chat example's\n%q", main, chat)
	}
	for _, name := range examples {
		dir := filepath.Join(root, "examples", name)
		words, err := readmeCommand(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !slices.Contains(words, "--staticdir") || words[slices.Index(words, "--staticdir")+1] != "examples/"+name {
			t.Errorf("%s: the command %q does not serve the page with --staticdir examples/%s", name, words, name)
		}
		if slices.Contains(words, "--addr") {
			t.Errorf("%s: the command sets --addr; the tests add their own", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
			t.Error(err)
		}
		readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "](screenshot.png)") {
			t.Errorf("%s: README.md does not show screenshot.png", name)
		}
		if _, err := os.Stat(filepath.Join(dir, "screenshot.png")); err != nil {
			t.Error(err)
		}
	}
}
