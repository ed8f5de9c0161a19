package frame

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestStampFromSetsFromAndCompacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		id   uint32
		want string
	}{
		{"empty object", `{}`, 7, `{"_from":7}`},
		{"empty object with space", "{ \n\t }", 7, `{"_from":7}`},
		{"one member", `{"a":1}`, 7, `{"a":1,"_from":7}`},
		{"whitespace around and inside", " \r\n\t{ \"a\" : 1 ,\n \"b\" : [ 1 , 2 ] , \"c\" : { \"d\" : null } }\r\n ",
			3, `{"a":1,"b":[1,2],"c":{"d":null},"_from":3}`},
		{"forged from first", `{"_from":99,"a":1}`, 7, `{"a":1,"_from":7}`},
		{"forged from last", `{"a":1,"_from":99}`, 7, `{"a":1,"_from":7}`},
		{"forged from only", `{"_from":99}`, 7, `{"_from":7}`},
		{"forged from twice", `{"_from":1,"x":true,"_from":"2"}`, 7, `{"x":true,"_from":7}`},
		{"forged from escaped", `{"\u005ffrom":99,"a":1}`, 7, `{"a":1,"_from":7}`},
		{"forged from escaped upper hex", `{"\u005Ffro\u006d":99}`, 7, `{"_from":7}`},
		{"forged from object value", `{"_from":{"id":1},"a":1}`, 7, `{"a":1,"_from":7}`},
		{"nested from kept", `{"a":{"_from":99},"b":[{"_from":98}]}`, 7, `{"a":{"_from":99},"b":[{"_from":98}],"_from":7}`},
		{"other underscore keys kept", `{"_FROM":1,"_from2":2,"from":3,"_to":4}`, 7, `{"_FROM":1,"_from2":2,"from":3,"_to":4,"_from":7}`},
		{"escaped key kept as written", `{"\u0061":1}`, 7, `{"\u0061":1,"_from":7}`},
		{"duplicate keys kept in order", `{"a":1,"a":2}`, 7, `{"a":1,"a":2,"_from":7}`},
		{"huge numbers byte exact", `{"n":12345678901234567890,"f":1e400,"g":-0.000001E-7,"z":-0}`, 1,
			`{"n":12345678901234567890,"f":1e400,"g":-0.000001E-7,"z":-0,"_from":1}`},
		{"string contents untouched", `{"s":"a  b\n\t\"{}, \\"}`, 2, `{"s":"a  b\n\t\"{}, \\","_from":2}`},
		{"unicode keys and values", `{"ключ":"значение 🎉","日本":"\u2028"}`, 5, `{"ключ":"значение 🎉","日本":"\u2028","_from":5}`},
		{"raw U+2028 kept", "{\"s\":\"a\u2028b\"}", 5, "{\"s\":\"a\u2028b\",\"_from\":5}"},
		{"id zero", `{}`, 0, `{"_from":0}`},
		{"id max", `{}`, 1<<32 - 1, `{"_from":4294967295}`},
		{"literals", `{"t":true,"f":false,"n":null}`, 1, `{"t":true,"f":false,"n":null,"_from":1}`},
		{"deep value", `{"a":[[[[{"b":[]}]]]]}`, 1, `{"a":[[[[{"b":[]}]]]],"_from":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := StampFrom([]byte(tt.in), tt.id)
			if err != nil {
				t.Fatalf("StampFrom(%q) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("StampFrom(%q, %d)\n got %s\nwant %s", tt.in, tt.id, got, tt.want)
			}
			if cap(got) <= len(got) {
				t.Errorf("no room left to append a newline: len %d cap %d", len(got), cap(got))
			}
		})
	}
}

func TestStampFromRefusesWhatIsNotAnObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error
	}{
		{``, ErrNotJSON},
		{" \n ", ErrNotJSON},
		{`hello`, ErrNotJSON},
		{`{"a":1`, ErrNotJSON},
		{`{"a":`, ErrNotJSON},
		{`{"a"`, ErrNotJSON},
		{`{`, ErrNotJSON},
		{`{"a":1}}`, ErrNotJSON},
		{`{"a":1} {"b":2}`, ErrNotJSON},
		{`{"a":1}x`, ErrNotJSON},
		{`{a:1}`, ErrNotJSON},
		{`{'a':1}`, ErrNotJSON},
		{`{"a":1,}`, ErrNotJSON},
		{`{,"a":1}`, ErrNotJSON},
		{`{"a" 1}`, ErrNotJSON},
		{`{"a":1 "b":2}`, ErrNotJSON},
		{"{\"a\":\"x\ny\"}", ErrNotJSON},
		{"{\"a\":\"\x00\"}", ErrNotJSON},
		{`{"a":"\x"}`, ErrNotJSON},
		{`{"a":"\u12"}`, ErrNotJSON},
		{`{"a":"\u12g4"}`, ErrNotJSON},
		{`{"a":"`, ErrNotJSON},
		{`{"a":01}`, ErrNotJSON},
		{`{"a":+1}`, ErrNotJSON},
		{`{"a":1.}`, ErrNotJSON},
		{`{"a":.5}`, ErrNotJSON},
		{`{"a":1e}`, ErrNotJSON},
		{`{"a":-}`, ErrNotJSON},
		{`{"a":NaN}`, ErrNotJSON},
		{`{"a":tru}`, ErrNotJSON},
		{`{"a":nul}`, ErrNotJSON},
		{`{"a":[1,2}`, ErrNotJSON},
		{`{"a":{"b":1]}`, ErrNotJSON},
		{`{"a":[1,]}`, ErrNotJSON},
		{"\ufeff{}", ErrNotJSON},
		{`{"a":1}` + "\x00", ErrNotJSON},
		{`[1,2`, ErrNotJSON},
		{`[]`, ErrNotObject},
		{`[{"a":1}]`, ErrNotObject},
		{` "x" `, ErrNotObject},
		{`42`, ErrNotObject},
		{`-1.5e3`, ErrNotObject},
		{`null`, ErrNotObject},
		{`true`, ErrNotObject},
		{`false`, ErrNotObject},
	}
	for _, tt := range tests {
		got, err := StampFrom([]byte(tt.in), 1)
		if !errors.Is(err, tt.want) || got != nil {
			t.Errorf("StampFrom(%q) = %q, %v; want nil, %v", tt.in, got, err, tt.want)
		}
		// Our scanner must agree with encoding/json on validity.
		if valid := json.Valid([]byte(tt.in)); valid != (tt.want == ErrNotObject) {
			t.Errorf("test case %q: json.Valid = %v, inconsistent with %v", tt.in, valid, tt.want)
		}
	}
}

func TestStampFromNestingLimitMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{255, 256, 257, 9999, 10000, 10001} {
		// depth counts the outer object too.
		inner := strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1)
		msg := []byte(`{"a":` + inner + `}`)
		_, err := StampFrom(msg, 1)
		if want := json.Valid(msg); (err == nil) != want {
			t.Errorf("depth %d: StampFrom error %v, json.Valid %v", depth, err, want)
		}
		arr := []byte(strings.Repeat(`[{"a":`, depth/2) + "1" + strings.Repeat("}]", depth/2))
		if got, want := validJSON(arr), json.Valid(arr); got != want {
			t.Errorf("depth %d: validJSON %v, json.Valid %v", depth, got, want)
		}
	}
	// A closer that does not match its opener is caught at every level,
	// also past the first 64-bit word of nesting state.
	for _, level := range []int{1, 63, 64, 65, 200, 300} {
		open := strings.Repeat(`[{"a":`, level)
		closers := []byte(strings.Repeat("}]", level))
		closers[2*level-2*(level/2)-1], closers[2*level-2*(level/2)-2] = '}', ']'
		msg := []byte(`{"x":` + open + "1" + string(closers) + `}`)
		if _, err := StampFrom(msg, 1); err == nil || json.Valid(msg) {
			t.Errorf("swapped closers at level %d accepted (json.Valid %v)", level, json.Valid(msg))
		}
	}
}

func TestParseServerLineRoutes(t *testing.T) {
	t.Parallel()
	broadcast := Route{Broadcast: true}
	nobody := Route{BadTo: true}
	to := func(ids ...uint32) Route { return Route{To: ids} }
	tests := []struct {
		name string
		line string
		want Route
	}{
		{"plain text", `hello world`, broadcast},
		{"empty line", ``, broadcast},
		{"spaces", `   `, broadcast},
		{"text mentioning _to", `send "_to": 3 please`, broadcast},
		{"json without reserved keys", `{"msg":"hi","n":1}`, broadcast},
		{"json array", `[{"_to":3}]`, broadcast},
		{"json string", `"_to"`, broadcast},
		{"json number", `3`, broadcast},
		{"json null", `null`, broadcast},
		{"truncated object with _to", `{"_to":3`, broadcast},
		{"invalid object with _to", `{"_to":3,}`, broadcast},
		{"trailing garbage", `{"_to":3} x`, broadcast},
		{"two objects", `{"_to":3}{"_to":4}`, broadcast},
		{"_to number", `{"_to":3,"msg":"hi"}`, to(3)},
		{"_to with whitespace", " \t{ \"_to\" : 3 }\r", to(3)},
		{"_to max id", `{"_to":4294967295}`, to(1<<32 - 1)},
		{"_to escaped key", `{"\u005fto":3}`, to(3)},
		{"_to escaped every char", `{"\u005f\u0074\u006F":3}`, to(3)},
		{"_to last duplicate wins", `{"_to":3,"_to":4}`, to(4)},
		{"_to after unicode", `{"ключ":"_to","_to":5}`, to(5)},
		{"_to list", `{"_to":[3,1,2]}`, to(1, 2, 3)},
		{"_to list with spaces", `{"_to":[ 3 , 1 ]}`, to(1, 3)},
		{"_to list duplicates", `{"_to":[3,1,3,1]}`, to(1, 3)},
		{"_to list one", `{"_to":[9]}`, to(9)},
		{"_to empty list", `{"_to":[]}`, Route{}},
		{"_to empty list with space", `{"_to":[ ]}`, Route{}},
		{"_to list with bad entries", `{"_to":[1,"2",0,-3,1.5,[4],{"a":5},null,6]}`, Route{To: []uint32{1, 6}, BadTo: true}},
		{"_to list all bad", `{"_to":["1"]}`, nobody},
		{"_to string", `{"_to":"3"}`, nobody},
		{"_to float", `{"_to":1.5}`, nobody},
		{"_to whole float", `{"_to":3.0}`, nobody},
		{"_to exponent", `{"_to":3e0}`, nobody},
		{"_to negative", `{"_to":-3}`, nobody},
		{"_to minus zero", `{"_to":-0}`, nobody},
		{"_to zero", `{"_to":0}`, nobody},
		{"_to 2^32", `{"_to":4294967296}`, nobody},
		{"_to huge", `{"_to":99999999999999999999}`, nobody},
		{"_to object", `{"_to":{"id":3}}`, nobody},
		{"_to true", `{"_to":true}`, nobody},
		{"_to null is no _to", `{"_to":null,"m":1}`, broadcast},
		{"_to null after a number", `{"_to":3,"_to":null}`, broadcast},
		{"nested _to ignored", `{"a":{"_to":3},"b":[{"_to":4}]}`, broadcast},
		{"_To is another key", `{"_To":3,"_TO":3}`, broadcast},
		{"_to prefix key", `{"_to2":3,"_t":3}`, broadcast},
		{"_meta", `{"_meta":true,"players":2}`, Route{Meta: []byte(`{"players":2}`)}},
		{"_meta compacted", `{ "a" : [1, 2] , "s":"x  y", "_meta" : true }`, Route{Meta: []byte(`{"a":[1,2],"s":"x  y"}`)}},
		{"_meta alone", `{"_meta":true}`, Route{Meta: []byte(`{}`)}},
		{"_meta duplicates all removed", `{"_meta":1,"a":1,"_meta":true}`, Route{Meta: []byte(`{"a":1}`)}},
		{"_meta escaped", `{"_m\u0065ta":true,"a":1}`, Route{Meta: []byte(`{"a":1}`)}},
		{"_meta keeps _to and _cache", `{"_meta":true,"_to":3,"_cache":true}`, Route{Meta: []byte(`{"_to":3,"_cache":true}`)}},
		{"_meta huge numbers", `{"_meta":true,"n":12345678901234567890,"f":1e400}`, Route{Meta: []byte(`{"n":12345678901234567890,"f":1e400}`)}},
		{"_meta false", `{"_meta":false,"x":1}`, broadcast},
		{"_meta string", `{"_meta":"true"}`, broadcast},
		{"_meta last wins", `{"_meta":true,"_meta":false}`, broadcast},
		{"_meta nested ignored", `{"a":{"_meta":true}}`, broadcast},
		{"_cache", `{"_cache":true,"m":1}`, Route{Broadcast: true, Cache: true}},
		{"_cache with spaces", `{ "_cache" : true }`, Route{Broadcast: true, Cache: true}},
		{"_cache not true", `{"_cache":1}`, broadcast},
		{"_cache false", `{"_cache":false}`, broadcast},
		{"_cache never private", `{"_cache":true,"_to":3}`, to(3)},
		{"_cache with _to null", `{"_cache":true,"_to":null}`, Route{Broadcast: true, Cache: true}},
		{"_cache nested ignored", `{"a":{"_cache":true}}`, broadcast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseServerLine(nil, []byte(tt.line))
			if !routesEqual(got, tt.want) {
				t.Errorf("ParseServerLine(%q)\n got %s\nwant %s", tt.line, fmtRoute(got), fmtRoute(tt.want))
			}
		})
	}
}

func routesEqual(a, b Route) bool {
	return a.Broadcast == b.Broadcast && a.Cache == b.Cache && a.BadTo == b.BadTo &&
		slices.Equal(a.To, b.To) && bytes.Equal(a.Meta, b.Meta) && (a.Meta == nil) == (b.Meta == nil)
}

func fmtRoute(r Route) string {
	meta := "nil"
	if r.Meta != nil {
		meta = strconv.Quote(string(r.Meta))
	}
	return fmt.Sprintf("{Broadcast:%v To:%v Meta:%s Cache:%v BadTo:%v}", r.Broadcast, r.To, meta, r.Cache, r.BadTo)
}

// Allocation tests cannot run in parallel: AllocsPerRun counts every
// goroutine's allocations.
func TestParseServerLineAppendsToDst(t *testing.T) {
	dst := make([]uint32, 0, 8)
	r := ParseServerLine(dst, []byte(`{"_to":[5,4]}`))
	if !slices.Equal(r.To, []uint32{4, 5}) || &r.To[0] != &dst[:1][0] {
		t.Fatalf("To = %v, want [4 5] in dst's array", r.To)
	}
	// A reused dst starts over rather than accumulating.
	r = ParseServerLine(r.To, []byte(`{"_to":3}`))
	if !slices.Equal(r.To, []uint32{3}) {
		t.Fatalf("To = %v after reuse, want [3]", r.To)
	}
	allocs := testing.AllocsPerRun(100, func() {
		r = ParseServerLine(r.To, []byte(`{"_to":[7,8,9],"m":"x"}`))
	})
	if allocs != 0 {
		t.Errorf("ParseServerLine with a dst allocates %v times, want 0", allocs)
	}
}

func TestParseServerLineBroadcastDoesNotAllocate(t *testing.T) {
	for _, line := range []string{`hello`, `{"msg":"hi"}`, `{"_cache":true,"x":[1,{"y":2}]}`, `{"_to":null}`} {
		allocs := testing.AllocsPerRun(100, func() { ParseServerLine(nil, []byte(line)) })
		if allocs != 0 {
			t.Errorf("ParseServerLine(%q) allocates %v times, want 0", line, allocs)
		}
	}
}

// Seeds shared by the JSON fuzz targets: what clients and processes send.
var jsonSeeds = []string{
	`{"t":"Join","_from":1}`,
	`{"t":"chat","text":"hello world"}`,
	`{"type":"move","x":12.5,"y":-3,"dir":[0,1]}`,
	`{"_to":3,"msg":"private"}`,
	`{"_to":[1,2,3],"msg":"team"}`,
	`{"_to":"3"}`,
	`{"_meta":true,"players":2,"state":"lobby"}`,
	`{"_cache":true,"board":[[0,1],[1,0]]}`,
	`{"\u005fto":4,"\u005ffrom":5}`,
	`{"n":12345678901234567890,"f":1e400}`,
	`{"_from":99,"nested":{"_from":98}}`,
	`  {"a" : [ 1 , 2 ] }  `,
	`{"ключ":"значение 🎉"}`,
	`[1,2,3]`,
	`"just a string"`,
	`null`,
	`plain text line`,
	`{"a":1`,
	`{}`,
	``,
}

// FuzzStampFrom checks StampFrom against encoding/json: it accepts exactly
// the objects json.Valid accepts, and its output is one line of compact,
// valid JSON with the same members in the same order, minus any "_from",
// plus one last "_from" that equals id.
func FuzzStampFrom(f *testing.F) {
	for i, s := range jsonSeeds {
		f.Add([]byte(s), uint32(i+1))
	}
	f.Fuzz(func(t *testing.T, msg []byte, id uint32) {
		out, err := StampFrom(msg, id)
		valid := json.Valid(msg)
		switch {
		case !valid:
			if !errors.Is(err, ErrNotJSON) {
				t.Fatalf("invalid JSON %q: err = %v, want ErrNotJSON", msg, err)
			}
			return
		case bytes.TrimLeft(msg, " \t\r\n")[0] != '{':
			if !errors.Is(err, ErrNotObject) {
				t.Fatalf("non-object %q: err = %v, want ErrNotObject", msg, err)
			}
			return
		case err != nil:
			t.Fatalf("object %q: unexpected error %v", msg, err)
		}
		if bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("output has a raw line break: %q", out)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, out); err != nil || !bytes.Equal(compact.Bytes(), out) {
			t.Fatalf("output is not compact valid JSON (%v): %q", err, out)
		}
		want := slices.DeleteFunc(objectMembers(t, msg), func(m member) bool { return m.key == "_from" })
		want = append(want, member{"_from", strconv.FormatUint(uint64(id), 10)})
		if got := objectMembers(t, out); !slices.Equal(got, want) {
			t.Fatalf("StampFrom(%q, %d) = %q\n got members %q\nwant members %q", msg, id, out, got, want)
		}
	})
}

// member is a decoded key and its value as compact JSON.
type member struct{ key, val string }

// objectMembers lists the members of a JSON object in order, duplicates
// included, decoded by encoding/json.
func objectMembers(t *testing.T, obj []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		t.Fatalf("object %q: %v", obj, err)
	}
	var ms []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("key in %q: %v", obj, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("value in %q: %v", obj, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			t.Fatalf("compact %q: %v", v, err)
		}
		ms = append(ms, member{k.(string), b.String()})
	}
	return ms
}

// FuzzParseServerLine checks ParseServerLine against a route computed the
// slow, obvious way with encoding/json.
func FuzzParseServerLine(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got := ParseServerLine(nil, line)
		want, wantMeta := referenceRoute(t, line)
		if wantMeta != nil {
			if got.Meta == nil {
				t.Fatalf("ParseServerLine(%q) = %s, want metadata", line, fmtRoute(got))
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, got.Meta); err != nil || !bytes.Equal(compact.Bytes(), got.Meta) {
				t.Fatalf("Meta is not compact valid JSON (%v): %q", err, got.Meta)
			}
			if ms := objectMembers(t, got.Meta); !slices.Equal(ms, wantMeta) {
				t.Fatalf("ParseServerLine(%q).Meta members\n got %q\nwant %q", line, ms, wantMeta)
			}
			got.Meta, want.Meta = nil, nil
		}
		if !routesEqual(got, want) {
			t.Fatalf("ParseServerLine(%q)\n got %s\nwant %s", line, fmtRoute(got), fmtRoute(want))
		}
	})
}

// referenceRoute is ParseServerLine's rules applied to encoding/json's view
// of the line. For a metadata line it returns the members Meta must have.
func referenceRoute(t *testing.T, line []byte) (Route, []member) {
	if !json.Valid(line) || bytes.TrimLeft(line, " \t\r\n")[0] != '{' {
		return Route{Broadcast: true}, nil
	}
	ms := objectMembers(t, line)
	last := func(key string) (string, bool) {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].key == key {
				return ms[i].val, true
			}
		}
		return "", false
	}
	if meta, _ := last("_meta"); meta == "true" {
		rest := slices.DeleteFunc(ms, func(m member) bool { return m.key == "_meta" })
		if rest == nil {
			rest = []member{}
		}
		return Route{Meta: []byte{}}, rest
	}
	to, ok := last("_to")
	if !ok || to == "null" {
		cache, _ := last("_cache")
		return Route{Broadcast: true, Cache: cache == "true"}, nil
	}
	var r Route
	items := []json.RawMessage{json.RawMessage(to)}
	if to[0] == '[' {
		if err := json.Unmarshal([]byte(to), &items); err != nil {
			t.Fatal(err)
		}
	}
	for _, item := range items {
		n, err := strconv.ParseUint(string(item), 10, 32)
		if err != nil || n == 0 {
			r.BadTo = true
			continue
		}
		if !slices.Contains(r.To, uint32(n)) {
			r.To = append(r.To, uint32(n))
		}
	}
	slices.Sort(r.To)
	return r, nil
}

func BenchmarkParseServerLine(b *testing.B) {
	lines := []struct{ name, line string }{
		{"plain", `player 3 moved to 12,40 and picked up the sword of a thousand truths`},
		{"json", `{"type":"state","tick":18231,"players":[{"id":1,"x":12.5,"y":40},{"id":2,"x":3,"y":7}]}`},
		{"json_cache", `{"_cache":true,"type":"state","tick":18231,"players":[{"id":1,"x":12.5,"y":40}]}`},
		{"to", `{"_to":3,"type":"state","tick":18231,"players":[{"id":1,"x":12.5,"y":40},{"id":2,"x":3,"y":7}]}`},
		{"to_list", `{"_to":[3,1,2],"type":"state","tick":18231,"players":[{"id":1,"x":12.5,"y":40}]}`},
	}
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			line := []byte(l.line)
			dst := make([]uint32, 0, 8)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				dst = ParseServerLine(dst, line).To
			}
		})
	}
}

func BenchmarkStampFrom(b *testing.B) {
	msg := []byte(`{"type":"move","x":12.5,"y":-3,"dir":[0,1],"text":"hello there"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := StampFrom(msg, 12345); err != nil {
			b.Fatal(err)
		}
	}
}
