package frame

import (
	"net/url"
	"strconv"
	"strings"
)

// Join and leave templates (SPEC §5).
//
// A template is compiled once into literal text and variable slots, and each
// expansion appends values in one pass. Values are therefore never expanded
// again: a room named "#ID" or a query value holding "#ROOM" stays literal.
//
// Variables are matched by the longest name at each '#', which is what
// "longer names are substituted before shorter ones that prefix them"
// means for a single pass:
//
//   - #ID, #ROOM, #REMOTE_ADDR and #QUERY_STRING are fixed names. What
//     follows a name is literal text, so #IDX is #ID then "X", and
//     #ROOM_#ID is the room, "_", then the ID — as the original's plain
//     text replacement gave.
//   - #QUERY_<NAME> takes the longest run of A-Z, 0-9 and _ after
//     "#QUERY_" as NAME, so #QUERY_NAME2 is parameter NAME2, never NAME
//     then "2". #QUERY_STRING is the raw query string, not a parameter
//     named "string" (the fixed name wins a tie), but #QUERY_STRINGS is
//     parameter STRINGS.
//   - Anything else after '#' is literal text: "#", "#id", "#QUERY_" alone.

// TemplateVars are the values of one client's join or leave message.
type TemplateVars struct {
	// ID is the connection ID, for #ID.
	ID uint32
	// Room, RemoteAddr (ip:port) and QueryString (raw, without '?') are
	// inserted as they are, except for bytes that could break the line or
	// the quoting of a JSON template: control bytes (CR and LF among them),
	// '"' and '\' become %XX escapes. In Room, '%' becomes %25 too, so the
	// result still URL-decodes to the name; a query string is already
	// percent-encoded, and those bytes are not allowed raw in a URI, so its
	// meaning is unchanged. Ordinary room names and query strings come out
	// exactly as they are.
	Room, RemoteAddr, QueryString string
	// Query holds the parsed query parameters for #QUERY_<NAME>.
	Query url.Values
}

// Template is a compiled --joinmsg or --leavemsg. A nil *Template expands
// to nothing. It is safe for concurrent use.
type Template struct {
	segs []segment
}

// segment is literal text followed by at most one variable.
type segment struct {
	lit  string
	kind templateVar
	name string // the parameter name for varQuery, upper-case
}

type templateVar uint8

const (
	varNone templateVar = iota
	varID
	varRoom
	varRemoteAddr
	varQueryString
	varQuery
)

// fixedVars are the variables with fixed names, without the '#'.
var fixedVars = [...]struct {
	name string
	kind templateVar
}{
	{"ID", varID},
	{"ROOM", varRoom},
	{"REMOTE_ADDR", varRemoteAddr},
	{"QUERY_STRING", varQueryString},
}

const queryPrefix = "QUERY_"

// CompileTemplate compiles a join or leave message template once, at start
// up. Every string is a valid template; text that names no variable is
// kept literally. CR and LF in the template itself become spaces, because
// the message must reach the process as one line and a template written
// over several lines (pretty-printed JSON, say) still means one message.
func CompileTemplate(s string) *Template {
	t := &Template{}
	var lit strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\r' || c == '\n' {
			lit.WriteByte(' ')
			i++
			continue
		}
		if c != '#' {
			lit.WriteByte(c)
			i++
			continue
		}
		kind, name, n := matchTemplateVar(s[i+1:])
		if kind == varNone {
			lit.WriteByte('#')
			i++
			continue
		}
		t.segs = append(t.segs, segment{lit: lit.String(), kind: kind, name: name})
		lit.Reset()
		i += 1 + n
	}
	if lit.Len() > 0 {
		t.segs = append(t.segs, segment{lit: lit.String()})
	}
	return t
}

// matchTemplateVar finds the longest variable name at the start of s (the
// text after a '#') and returns it with its length.
func matchTemplateVar(s string) (kind templateVar, name string, n int) {
	if strings.HasPrefix(s, queryPrefix) {
		end := len(queryPrefix)
		for end < len(s) && isTemplateNameByte(s[end]) {
			end++
		}
		if end > len(queryPrefix) {
			kind, name, n = varQuery, s[len(queryPrefix):end], end
		}
	}
	for _, v := range fixedVars {
		if strings.HasPrefix(s, v.name) && len(v.name) >= n {
			return v.kind, "", len(v.name)
		}
	}
	return kind, name, n
}

func isTemplateNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// Expand appends the message for v to dst and returns it, without a
// trailing newline and never containing CR or LF. It allocates only if dst
// is too small.
func (t *Template) Expand(dst []byte, v TemplateVars) []byte {
	if t == nil {
		return dst
	}
	for _, s := range t.segs {
		dst = append(dst, s.lit...)
		switch s.kind {
		case varID:
			dst = strconv.AppendUint(dst, uint64(v.ID), 10)
		case varRoom:
			dst = appendRaw(dst, v.Room, true)
		case varRemoteAddr:
			dst = appendRaw(dst, v.RemoteAddr, false)
		case varQueryString:
			dst = appendRaw(dst, v.QueryString, false)
		case varQuery:
			dst = appendUnreserved(dst, lookupQuery(v.Query, s.name))
		}
	}
	return dst
}

// lookupQuery returns the first value of the parameter whose name, with
// ASCII letters upper-cased, is name; "" if there is none. Names that differ
// only in case (?name=a&NAME=b) all match; url.Values has lost their order,
// so the byte-wise smallest name wins ("NAME" before "name") to keep the
// result deterministic.
func lookupQuery(q url.Values, name string) string {
	val, best, found := "", "", false
	for k, vs := range q {
		if len(vs) == 0 || !equalUpperASCII(k, name) {
			continue
		}
		if !found || k < best {
			val, best, found = vs[0], k, true
		}
	}
	return val
}

// equalUpperASCII reports whether k with its ASCII letters upper-cased is
// upper. Only ASCII is folded: upper is made of A-Z, 0-9 and _, and full
// Unicode upper-casing would let "ſ" stand for "S".
func equalUpperASCII(k, upper string) bool {
	if len(k) != len(upper) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// appendRaw appends s with control bytes, '"' and '\' (and '%' if
// escapePercent) percent-encoded; see TemplateVars. The room name comes
// from the client, and a template such as {"_from":#ID,"room":"#ROOM"}
// must not let it add members, a forged "_from" among them.
func appendRaw(dst []byte, s string, escapePercent bool) []byte {
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != 0x7f && c != '"' && c != '\\' && (c != '%' || !escapePercent) {
			continue
		}
		dst = append(dst, s[run:i]...)
		dst = appendPercent(dst, c)
		run = i + 1
	}
	return append(dst, s[run:]...)
}

// appendUnreserved appends s percent-encoded byte by byte (UTF-8 bytes
// each become %XX), keeping only RFC 3986 unreserved characters, so a query
// value can never inject quotes, '#', spaces or newlines.
func appendUnreserved(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = appendPercent(dst, c)
	}
	return dst
}

func appendPercent(dst []byte, c byte) []byte {
	const hex = "0123456789ABCDEF"
	return append(dst, '%', hex[c>>4], hex[c&15])
}
