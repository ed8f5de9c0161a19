package frame

import (
	"net/url"
	"strings"
	"testing"
)

func TestTemplateExpandsVariables(t *testing.T) {
	t.Parallel()
	vars := TemplateVars{
		ID:          42,
		Room:        "chat",
		RemoteAddr:  "192.0.2.1:51234",
		QueryString: "name=Ann%20Lee&team=red&team=blue&Color=%22x%22",
		Query: url.Values{
			"name":  {"Ann Lee"},
			"team":  {"red", "blue"},
			"Color": {`"x"`},
			"name2": {"second"},
			"n_1":   {"under"},
			"emoji": {"🎉é"},
			"empty": {""},
			"none":  {},
			"safe":  {"AZaz09-._~"},
		},
	}
	tests := []struct {
		name, tmpl, want string
	}{
		{"json default join", `{"t":"Join","_from":#ID}`, `{"t":"Join","_from":42}`},
		{"json default leave", `{"t":"Leave","_from":#ID}`, `{"t":"Leave","_from":42}`},
		{"room", `#ROOM`, `chat`},
		{"remote addr", `from #REMOTE_ADDR`, `from 192.0.2.1:51234`},
		{"raw query string", `?#QUERY_STRING`, `?name=Ann%20Lee&team=red&team=blue&Color=%22x%22`},
		{"query param encoded", `#QUERY_NAME`, `Ann%20Lee`},
		{"query name matched case-insensitively", `#QUERY_COLOR`, `%22x%22`},
		{"repeated param takes the first", `#QUERY_TEAM`, `red`},
		{"longer param name first", `#QUERY_NAME2/#QUERY_NAME`, `second/Ann%20Lee`},
		{"param name with digit and underscore", `#QUERY_N_1`, `under`},
		{"absent param", `[#QUERY_MISSING]`, `[]`},
		{"param with no values", `[#QUERY_NONE]`, `[]`},
		{"empty param", `[#QUERY_EMPTY]`, `[]`},
		{"non-ASCII value encoded as UTF-8", `#QUERY_EMOJI`, `%F0%9F%8E%89%C3%A9`},
		{"unreserved kept", `#QUERY_SAFE`, `AZaz09-._~`},
		{"QUERY_STRING is not a param", `#QUERY_STRING!`, `name=Ann%20Lee&team=red&team=blue&Color=%22x%22!`},
		{"longer param beats QUERY_STRING", `[#QUERY_STRINGS]`, `[]`},
		{"ID followed by letters", `#IDX #ID2 #ID_`, `42X 422 42_`},
		{"room then underscore then id", `#ROOM_#ID`, `chat_42`},
		{"adjacent variables", `#ID#ID#ROOM`, `4242chat`},
		{"lower case is literal", `#id #room #query_name #QUERY_name`, `#id #room #query_name #QUERY_name`},
		{"bare hash", `# ## #`, `# ## #`},
		{"trailing hash", `x#`, `x#`},
		{"QUERY_ without a name", `#QUERY_ #QUERY_-`, `#QUERY_ #QUERY_-`},
		{"no variables", `hello`, `hello`},
		{"empty template", ``, ``},
		{"template newlines become spaces", "{\n  \"t\": \"Join\",\r\n  \"id\": #ID\n}", `{   "t": "Join",    "id": 42 }`},
		{"unicode literal", `привет #ID 🎉`, `привет 42 🎉`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := CompileTemplate(tt.tmpl).Expand(nil, vars)
			if string(got) != tt.want {
				t.Errorf("Expand(%q)\n got %q\nwant %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestTemplateValuesAreNotReexpanded(t *testing.T) {
	t.Parallel()
	vars := TemplateVars{
		ID:          1,
		Room:        "#ID#QUERY_STRING",
		RemoteAddr:  "#ROOM",
		QueryString: "q=%23ID&x=#ROOM",
		Query:       url.Values{"q": {"#ID"}, "x": {"#ROOM"}},
	}
	tmpl := CompileTemplate(`#ROOM|#REMOTE_ADDR|#QUERY_STRING|#QUERY_Q|#QUERY_X`)
	want := `#ID#QUERY_STRING|#ROOM|q=%23ID&x=#ROOM|%23ID|%23ROOM`
	if got := tmpl.Expand(nil, vars); string(got) != want {
		t.Errorf("Expand = %q, want %q", got, want)
	}
}

func TestTemplateBlocksInjection(t *testing.T) {
	t.Parallel()
	tmpl := CompileTemplate(`{"name":"#QUERY_NAME","room":"#ROOM","q":"#QUERY_STRING","addr":"#REMOTE_ADDR"}`)
	vars := TemplateVars{
		ID:          1,
		Room:        "r\nx",
		RemoteAddr:  "1.2.3.4:5\r\n",
		QueryString: "name=%22%0A&raw=\r\n",
		Query:       url.Values{"name": {"\",\"_from\":2}\n{\"x\":\"# %\u2028"}},
	}
	got := string(tmpl.Expand(nil, vars))
	want := `{"name":"%22%2C%22_from%22%3A2%7D%0A%7B%22x%22%3A%22%23%20%25%E2%80%A8",` +
		`"room":"r%0Ax","q":"name=%22%0A&raw=%0D%0A","addr":"1.2.3.4:5%0D%0A"}`
	if got != want {
		t.Errorf("Expand\n got %s\nwant %s", got, want)
	}

	// A room name or raw query string cannot close a JSON string and add
	// members, a forged "_from" among them; ordinary names are untouched.
	tmpl = CompileTemplate(`{"_from":#ID,"room":"#ROOM","q":"#QUERY_STRING"}`)
	vars = TemplateVars{ID: 7, Room: `x","_from":1,"y":"\%`, QueryString: `a="b\"&c=%22`}
	want = `{"_from":7,"room":"x%22,%22_from%22:1,%22y%22:%22%5C%25","q":"a=%22b%5C%22&c=%22"}`
	if got := string(tmpl.Expand(nil, vars)); got != want {
		t.Errorf("Expand\n got %s\nwant %s", got, want)
	}
	vars = TemplateVars{ID: 7, Room: "Joe's room ☕ #1", QueryString: "name=Ann%20Lee&x=1"}
	want = `{"_from":7,"room":"Joe's room ☕ #1","q":"name=Ann%20Lee&x=1"}`
	if got := string(tmpl.Expand(nil, vars)); got != want {
		t.Errorf("Expand\n got %s\nwant %s", got, want)
	}
}

func TestTemplateDuplicateNamesDifferingInCasePickDeterministically(t *testing.T) {
	t.Parallel()
	tmpl := CompileTemplate(`#QUERY_NAME`)
	vars := TemplateVars{Query: url.Values{"name": {"lower"}, "Name": {"mixed"}, "NAME": {"upper"}}}
	for range 20 { // map order varies between runs
		if got := tmpl.Expand(nil, vars); string(got) != "upper" {
			t.Fatalf("Expand = %q, want %q (byte-wise smallest name)", got, "upper")
		}
	}
	// Only ASCII letters are folded: "ſ" (long s) upper-cases to "S" in
	// Unicode but must not match #QUERY_S.
	if got := CompileTemplate(`[#QUERY_S]`).Expand(nil, TemplateVars{Query: url.Values{"ſ": {"x"}}}); string(got) != "[]" {
		t.Errorf("long s matched: %q", got)
	}
}

func TestTemplateExpandAppendsAndNilIsEmpty(t *testing.T) {
	var nilTmpl *Template
	if got := nilTmpl.Expand([]byte("keep"), TemplateVars{ID: 1}); string(got) != "keep" {
		t.Errorf("nil template Expand = %q", got)
	}
	tmpl := CompileTemplate(`{"t":"Join","_from":#ID,"room":"#ROOM"}`)
	buf := make([]byte, 0, 128)
	vars := TemplateVars{ID: 12345, Room: "lobby"}
	if allocs := testing.AllocsPerRun(100, func() { buf = tmpl.Expand(buf[:0], vars) }); allocs != 0 {
		t.Errorf("Expand into a large enough dst allocates %v times, want 0", allocs)
	}
}

// FuzzTemplate checks that any template with any values expands without
// panicking to one line, and that query values can only contribute
// unreserved characters and percent escapes.
func FuzzTemplate(f *testing.F) {
	f.Add(`{"t":"Join","_from":#ID}`, uint32(1), "chat", "127.0.0.1:4000", "name=ann", "name", "ann")
	f.Add(`{"t":"Join","_from":#ID,"name":"#QUERY_NAME","room":"#ROOM"}`, uint32(7), "lobby", "[::1]:5000", "name=a%20b", "name", "a b")
	f.Add(`#QUERY_STRING #QUERY_STRINGS #IDX #ROOM_#ID`, uint32(1<<32-1), "#ID", "#ROOM", "x=\r\n", "strings", "\n")
	f.Add("multi\nline\r\n#QUERY_X", uint32(0), "r\n", "a\rb", "", "x", "\"},\n{")
	f.Add(`#QUERY_`, uint32(3), "", "", "", "", "")
	f.Fuzz(func(t *testing.T, tmpl string, id uint32, room, addr, qs, key, val string) {
		vars := TemplateVars{ID: id, Room: room, RemoteAddr: addr, QueryString: qs, Query: url.Values{key: {val}}}
		out := CompileTemplate(tmpl).Expand(nil, vars)
		if i := strings.IndexAny(string(out), "\r\n"); i >= 0 {
			t.Fatalf("Expand(%q) has a raw line break at %d: %q", tmpl, i, out)
		}
		// A query value comes out as unreserved characters and percent
		// escapes only, and decodes back to itself.
		enc := string(queryTmpl.Expand(nil, TemplateVars{Query: url.Values{"k": {val}}}))
		if strings.Trim(enc, unreserved+"%") != "" {
			t.Fatalf("query value %q expanded to %q", val, enc)
		}
		if dec, err := url.PathUnescape(enc); err != nil || dec != val {
			t.Fatalf("query value %q expanded to %q, which decodes to %q, %v", val, enc, dec, err)
		}
		// A room name comes out without quotes, backslashes or control
		// bytes, and URL-decodes back to itself.
		enc = string(roomTmpl.Expand(nil, TemplateVars{Room: room}))
		if strings.ContainsFunc(enc, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' || r == '\\' }) {
			t.Fatalf("room %q expanded to %q", room, enc)
		}
		if dec, err := url.PathUnescape(enc); err != nil || dec != room {
			t.Fatalf("room %q expanded to %q, which decodes to %q, %v", room, enc, dec, err)
		}
	})
}

var roomTmpl = CompileTemplate("#ROOM")

const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

var queryTmpl = CompileTemplate("#QUERY_K")

func BenchmarkTemplateExpand(b *testing.B) {
	tmpl := CompileTemplate(`{"t":"Join","_from":#ID,"name":"#QUERY_NAME","room":"#ROOM"}`)
	vars := TemplateVars{ID: 12345, Room: "lobby", Query: url.Values{"name": {"Ann Lee"}, "team": {"red"}}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = tmpl.Expand(buf[:0], vars)
	}
}
