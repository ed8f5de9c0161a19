package frame

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
)

// JSON framing (SPEC §4). The code below is a small validating scanner
// rather than encoding/json: it finds top-level keys and the byte spans of
// their values in one pass without building values, so numbers such as
// 12345678901234567890 or 1e400 pass through byte for byte, and a broadcast
// line costs no allocation. What it accepts is exactly what json.Valid
// accepts (the fuzz targets check this), including its nesting limit and its
// tolerance of invalid UTF-8 inside strings.

// Sentinel errors of StampFrom, distinct so the caller can count dropped
// client messages by reason (messages_dropped_total{reason}).
var (
	// ErrNotJSON means the message is not valid JSON.
	ErrNotJSON = errors.New("frame: not valid JSON")
	// ErrNotObject means the message is valid JSON but not an object.
	ErrNotObject = errors.New("frame: not a JSON object")
)

// maxJSONDepth is the deepest nesting accepted, the same as encoding/json's,
// so that both agree on what is valid. The scanner needs one bit per level.
const maxJSONDepth = 10000

// stampSlack is what StampFrom may add to a message: a comma, the member
// with the longest ID, the closing brace, and one byte so the caller can
// append the newline for the process without reallocating.
const stampSlack = len(`,"_from":4294967295}`) + 1

// StampFrom turns a client message into the line written to the process in
// JSON framing: msg must be one JSON object (whitespace around it is
// allowed); the result is that object as compact JSON on one line (no
// newline, not even a trailing one) with "_from": id as its last member.
//
// Every top-level "_from" member of msg is removed, including spellings
// with escapes such as "\u005ffrom", so a client cannot forge its sender;
// a "_from" inside a nested value is data and stays. Because the real
// "_from" comes last, parsers that keep the last duplicate or fold key case
// (encoding/json matches "_FROM" to a "_from" field) still see the real one.
//
// Everything else is kept byte for byte apart from insignificant
// whitespace: key spellings, string escapes, number spellings, and
// duplicate keys, in their order. Invalid UTF-8 inside strings is passed
// through as encoding/json would accept it.
//
// The result is a new slice (the one allocation), with capacity for one
// more byte so that appending '\n' does not copy it. The error is
// ErrNotJSON or ErrNotObject.
func StampFrom(msg []byte, id uint32) ([]byte, error) {
	start := skipJSONSpace(msg, 0)
	if start == len(msg) || msg[start] != '{' {
		if validJSON(msg) {
			return nil, ErrNotObject
		}
		return nil, ErrNotJSON
	}
	out := make([]byte, 0, len(msg)+stampSlack)
	out = append(out, '{')
	it := newObjectIter(msg, start)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		if classifyKey(key) == keyFrom {
			continue
		}
		out = appendMember(out, key, val)
	}
	if !it.valid() {
		return nil, ErrNotJSON
	}
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, `"_from":`...)
	out = strconv.AppendUint(out, uint64(id), 10)
	return append(out, '}'), nil
}

// Route says where a line of process output goes in JSON framing
// (SPEC §4, §8). The zero Route delivers to nobody.
type Route struct {
	// Broadcast: deliver the line to every client in the room.
	Broadcast bool
	// To lists the recipients when the line carried "_to" and Broadcast is
	// false: sorted, without duplicates, possibly empty (deliver to nobody).
	// It aliases the dst slice given to ParseServerLine.
	To []uint32
	// Meta is set when the line carried "_meta": true: it is not delivered
	// at all; Meta, the object without its "_meta" members as compact JSON,
	// becomes the room's metadata. Meta never aliases the line.
	Meta []byte
	// Cache is set for a broadcast line with "_cache": true, for
	// --cache=tagged. It is never set on other routes, because lines
	// addressed with "_to" must never be cached (§8).
	Cache bool
	// BadTo reports that "_to" held something that is not a client ID (see
	// ParseServerLine); the line still goes only to the valid IDs, if any.
	// The caller counts or logs it: it is a bug in the process.
	BadTo bool
}

// ParseServerLine computes the route of one item of process output in JSON
// framing. The caller delivers the item exactly as the process wrote it;
// this only decides who gets it, once for all recipients.
//
// A line that is not a JSON object, or not valid JSON at all, is broadcast
// unchanged, as SPEC §4 asks. Only top-level keys count, matched on their
// decoded names (so "\u005fto" is "_to"), case-sensitively; when a key
// appears more than once the last one wins, as in most JSON parsers. Then:
//
//   - "_meta": true: not delivered; see Route.Meta. This wins over "_to".
//   - "_to": n, where n is written as an integer from 1 to 4294967295: only
//     to client n. Any other "_to" (a string such as "3", 0, -1, 1.5, 3.0,
//     3e0, a number above 2^32-1, true, an object) addresses nobody and sets
//     BadTo: a private message must never fall back to a broadcast.
//   - "_to": [n, …]: to each listed ID; entries that are not IDs are
//     skipped and set BadTo. [] addresses nobody, and is not an error.
//   - "_to": null counts as no "_to", since serializers write null for an
//     unset optional field; the line is broadcast.
//   - "_cache": true (only the literal true) tags a broadcast line.
//
// IDs are appended to dst[:0], so a caller that keeps dst between calls
// parses "_to" lines without allocating; Meta is a new slice. Lines with no
// `"_` or `"\u` in them (most non-JSON and plain JSON output) are
// recognised as broadcasts by a vectorised search, without a parse.
func ParseServerLine(dst []uint32, line []byte) Route {
	broadcast := Route{Broadcast: true}
	start := skipJSONSpace(line, 0)
	if start == len(line) || line[start] != '{' || !mayHaveReservedKey(line[start:]) {
		return broadcast
	}
	var to []byte // the value of the last "_to", nil if none
	meta, cache := false, false
	it := newObjectIter(line, start)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		switch classifyKey(key) {
		case keyTo:
			to = val
		case keyMeta:
			meta = string(val) == "true"
		case keyCache:
			cache = string(val) == "true"
		}
	}
	if !it.valid() {
		return broadcast
	}
	if meta {
		return Route{Meta: appendWithoutMeta(make([]byte, 0, len(line)), line, start)}
	}
	if to == nil || string(to) == "null" {
		return Route{Broadcast: true, Cache: cache}
	}
	ids, bad := appendTargets(dst[:0], to)
	return Route{To: ids, BadTo: bad}
}

// mayHaveReservedKey is the fast path of ParseServerLine. A key whose
// decoded name starts with '_' is written either `"_` or `"\u005f`, so a
// line without `"_` and `"\u` cannot hold "_to", "_meta" or "_cache", and
// its route is a broadcast whether or not it is valid JSON. It searches for
// '_' and '\' rather than '"', which is everywhere in JSON.
func mayHaveReservedKey(b []byte) bool {
	return hasQuoted(b, '_', 0) || hasQuoted(b, '\\', 'u')
}

// hasQuoted reports whether b holds c right after a '"' and, unless next is
// 0, right before next.
func hasQuoted(b []byte, c, next byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return false
		}
		i += j
		if i > 0 && b[i-1] == '"' && (next == 0 || i+1 < len(b) && b[i+1] == next) {
			return true
		}
	}
}

// appendWithoutMeta appends the object at line[start:], already validated,
// as compact JSON without its "_meta" members.
func appendWithoutMeta(dst, line []byte, start int) []byte {
	dst = append(dst, '{')
	it := newObjectIter(line, start)
	for key, val, ok := it.next(); ok; key, val, ok = it.next() {
		if classifyKey(key) != keyMeta {
			dst = appendMember(dst, key, val)
		}
	}
	return append(dst, '}')
}

// appendMember appends `"key":value` in compact form, preceded by a comma
// unless it is the first member after dst's opening brace.
func appendMember(dst, key, val []byte) []byte {
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendCompactJSON(dst, val)
}

// appendTargets appends the client IDs of a validated "_to" value to dst,
// sorted and without duplicates, and reports whether any entry was not an
// ID. Sorting is O(n log n) even for a huge list, and delivery order among
// recipients does not matter.
func appendTargets(dst []uint32, v []byte) ([]uint32, bool) {
	if v[0] != '[' {
		if id, ok := parseClientID(v); ok {
			return append(dst, id), false
		}
		return dst, true
	}
	bad := false
	i := skipJSONSpace(v, 1)
	for i < len(v) && v[i] != ']' {
		end := skipJSONValue(v, i, maxJSONDepth)
		if end < 0 { // cannot happen: v was validated
			return dst, true
		}
		if id, ok := parseClientID(v[i:end]); ok {
			dst = append(dst, id)
		} else {
			bad = true
		}
		i = skipJSONSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipJSONSpace(v, i+1)
		}
	}
	if len(dst) > 1 {
		slices.Sort(dst)
		dst = slices.Compact(dst)
	}
	return dst, bad
}

// parseClientID accepts a JSON number written as a plain integer in the
// range of connection IDs, 1 to 2^32-1. Fractions and exponents are refused
// even when the value is whole: 3.0 is more likely a bug than an ID.
func parseClientID(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 10 || b[0] == '0' {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// reservedKey names the top-level keys that framing acts on.
type reservedKey uint8

const (
	keyOther reservedKey = iota
	keyFrom
	keyTo
	keyMeta
	keyCache
)

// classifyKey matches a raw key (between its quotes, escapes not decoded)
// against the reserved names by its decoded value.
func classifyKey(raw []byte) reservedKey {
	if len(raw) == 0 || (raw[0] != '_' && raw[0] != '\\') {
		return keyOther
	}
	name := raw
	var buf [len("_cache")]byte
	if bytes.IndexByte(raw, '\\') >= 0 {
		n, ok := decodeShortKey(raw, &buf)
		if !ok {
			return keyOther
		}
		name = buf[:n]
	}
	switch string(name) {
	case "_from":
		return keyFrom
	case "_to":
		return keyTo
	case "_meta":
		return keyMeta
	case "_cache":
		return keyCache
	}
	return keyOther
}

// decodeShortKey decodes the escapes of a raw key into buf. It gives up
// (false) on anything that cannot be a reserved name: more bytes than buf
// holds, or a character outside ASCII.
func decodeShortKey(raw []byte, buf *[len("_cache")]byte) (int, bool) {
	n := 0
	for i := 0; i < len(raw); {
		if n == len(buf) {
			return 0, false
		}
		c := raw[i]
		i++
		if c == '\\' {
			if i >= len(raw) {
				return 0, false
			}
			e := raw[i]
			i++
			switch e {
			case 'u':
				if i+4 > len(raw) {
					return 0, false
				}
				r := 0
				for _, h := range raw[i : i+4] {
					v := hexValue(h)
					if v < 0 {
						return 0, false
					}
					r = r<<4 | v
				}
				if r >= 0x80 {
					return 0, false
				}
				i += 4
				c = byte(r)
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			default: // '"', '\\' and '/' stand for themselves
				c = e
			}
		} else if c >= 0x80 {
			return 0, false
		}
		buf[n] = c
		n++
	}
	return n, true
}

// objectIter walks the members of a JSON object, validating as it goes.
// After next returns false, valid reports whether the object was well
// formed and followed only by whitespace.
type objectIter struct {
	data []byte
	pos  int // start of the next key, or just past the closing brace
	done bool
	bad  bool
}

// newObjectIter starts at data[start], which must be '{'.
func newObjectIter(data []byte, start int) objectIter {
	it := objectIter{data: data, pos: skipJSONSpace(data, start+1)}
	if it.pos < len(data) && data[it.pos] == '}' {
		it.pos++
		it.done = true
	}
	return it
}

// next returns the next member's raw key (between its quotes, escapes not
// decoded) and raw value (validated, possibly with inner whitespace).
func (it *objectIter) next() (key, val []byte, ok bool) {
	if it.done || it.bad {
		return nil, nil, false
	}
	d, i := it.data, it.pos
	if i >= len(d) || d[i] != '"' {
		it.bad = true
		return nil, nil, false
	}
	kend := scanJSONString(d, i)
	if kend < 0 {
		it.bad = true
		return nil, nil, false
	}
	key = d[i+1 : kend-1]
	i = skipJSONSpace(d, kend)
	if i >= len(d) || d[i] != ':' {
		it.bad = true
		return nil, nil, false
	}
	vstart := skipJSONSpace(d, i+1)
	// The top-level object is one level, so its values get one less.
	vend := skipJSONValue(d, vstart, maxJSONDepth-1)
	if vend < 0 {
		it.bad = true
		return nil, nil, false
	}
	val = d[vstart:vend]
	i = skipJSONSpace(d, vend)
	switch {
	case i >= len(d):
		it.bad = true
		return nil, nil, false
	case d[i] == ',':
		i = skipJSONSpace(d, i+1)
	case d[i] == '}':
		i++
		it.done = true
	default:
		it.bad = true
		return nil, nil, false
	}
	it.pos = i
	return key, val, true
}

func (it *objectIter) valid() bool {
	return it.done && !it.bad && skipJSONSpace(it.data, it.pos) == len(it.data)
}

// validJSON reports whether d is one JSON value with optional whitespace
// around it; it agrees with json.Valid.
func validJSON(d []byte) bool {
	end := skipJSONValue(d, skipJSONSpace(d, 0), maxJSONDepth)
	return end >= 0 && skipJSONSpace(d, end) == len(d)
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipJSONSpace(d []byte, i int) int {
	for i < len(d) && isJSONSpace(d[i]) {
		i++
	}
	return i
}

// skipJSONKey validates `"key" :` at d[i] and returns the index of the value
// after it, or -1.
func skipJSONKey(d []byte, i int) int {
	if i >= len(d) || d[i] != '"' {
		return -1
	}
	i = scanJSONString(d, i)
	if i < 0 {
		return -1
	}
	i = skipJSONSpace(d, i)
	if i >= len(d) || d[i] != ':' {
		return -1
	}
	return skipJSONSpace(d, i+1)
}

// skipJSONValue validates the JSON value starting exactly at d[i] and
// returns the index just past it, or -1 if it is invalid or opens more than
// depth arrays and objects. It loops instead of recursing, keeping one bit
// per open level (set for an object); the first 256 levels need no
// allocation.
func skipJSONValue(d []byte, i, depth int) int {
	var small [4]uint64
	stack := small[:]
	level := 0
	for {
		if i >= len(d) {
			return -1
		}
		switch c := d[i]; c {
		case '{', '[':
			if level >= depth {
				return -1
			}
			if w := level / 64; w == len(stack) {
				stack = append(stack, 0)
			}
			bit := uint64(1) << (level % 64)
			if c == '{' {
				stack[level/64] |= bit
			} else {
				stack[level/64] &^= bit
			}
			level++
			i = skipJSONSpace(d, i+1)
			if i >= len(d) {
				return -1
			}
			if (c == '{' && d[i] == '}') || (c == '[' && d[i] == ']') {
				i++
				level--
				break // an empty container is a complete value
			}
			if c == '{' {
				i = skipJSONKey(d, i)
			}
			if i < 0 {
				return -1
			}
			continue // to the first member's value
		case '"':
			i = scanJSONString(d, i)
		case 't':
			i = scanJSONLiteral(d, i, "true")
		case 'f':
			i = scanJSONLiteral(d, i, "false")
		case 'n':
			i = scanJSONLiteral(d, i, "null")
		default:
			i = scanJSONNumber(d, i)
		}
		if i < 0 {
			return -1
		}
		// A value is complete: close what it completes, or move to the
		// next member.
		for {
			if level == 0 {
				return i
			}
			i = skipJSONSpace(d, i)
			if i >= len(d) {
				return -1
			}
			inObject := stack[(level-1)/64]>>((level-1)%64)&1 == 1
			c := d[i]
			if c == ',' {
				i = skipJSONSpace(d, i+1)
				if inObject {
					i = skipJSONKey(d, i)
				}
				break
			}
			if (inObject && c == '}') || (!inObject && c == ']') {
				i++
				level--
				continue
			}
			return -1
		}
		if i < 0 {
			return -1
		}
	}
}

// scanJSONString validates the string whose opening quote is d[i] and
// returns the index just past its closing quote, or -1. Like encoding/json
// it refuses control characters and bad escapes but not invalid UTF-8.
func scanJSONString(d []byte, i int) int {
	for i++; i < len(d); {
		switch c := d[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(d) {
				return -1
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return -1
				}
				for _, h := range d[i+2 : i+6] {
					if !isHexDigit(h) {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
	return -1
}

func isHexDigit(c byte) bool { return hexValue(c) >= 0 }

// hexValue returns the value of a hex digit, or -1.
func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanJSONNumber validates the number at d[i] and returns the index just
// past it, or -1. JSON allows no leading '+', no leading zeros, no bare '.'.
func scanJSONNumber(d []byte, i int) int {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return -1
	case d[i] == '0':
		i++
	case isDigit(d[i]):
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			return -1
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			return -1
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	return i
}

func scanJSONLiteral(d []byte, i int, lit string) int {
	if !bytes.HasPrefix(d[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}

// appendCompactJSON appends the validated value v without the whitespace
// between tokens. Strings are copied whole, so their contents, escapes and
// all, are untouched; runs between whitespace are copied in one go.
func appendCompactJSON(dst, v []byte) []byte {
	run := 0
	for i := 0; i < len(v); {
		switch v[i] {
		case '"':
			if i = scanJSONString(v, i); i < 0 {
				return append(dst, v[run:]...) // cannot happen: v was validated
			}
		case ' ', '\t', '\n', '\r':
			dst = append(dst, v[run:i]...)
			i++
			run = i
		default:
			i++
		}
	}
	return append(dst, v[run:]...)
}
