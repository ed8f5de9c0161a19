package cluster

import (
	"bytes"
	"errors"
	"testing"
)

func TestOutMessages(t *testing.T) {
	body := appendItem(nil, item{data: []byte("hello")})
	body = appendItem(body, item{binary: true, to: 7, data: []byte{0, 1, 2}})
	body = appendItem(body, item{data: nil})
	msg := append(appendOutHeader(nil, outHeader{op: opData, epoch: 3, seq: 9}), body...)

	h, got, err := parseOut(msg)
	if err != nil || h != (outHeader{op: opData, epoch: 3, seq: 9}) || !bytes.Equal(got, body) {
		t.Fatalf("parseOut = %+v %q %v", h, got, err)
	}
	var items []item
	if err := parseItems(got, func(it item) { items = append(items, it) }); err != nil {
		t.Fatal(err)
	}
	want := []item{{data: []byte("hello")}, {binary: true, to: 7, data: []byte{0, 1, 2}}, {data: []byte{}}}
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d", len(items), len(want))
	}
	for i := range want {
		if items[i].binary != want[i].binary || items[i].to != want[i].to || !bytes.Equal(items[i].data, want[i].data) {
			t.Errorf("item %d = %+v, want %+v", i, items[i], want[i])
		}
	}
}

func TestMalformedOutMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"short header", []byte{opData, 0, 0}},
		{"unknown op", appendOutHeader(nil, outHeader{op: opJoin})},
		{"zero op", appendOutHeader(nil, outHeader{})},
	} {
		if _, _, err := parseOut(tc.msg); !errors.Is(err, errMalformed) {
			t.Errorf("%s: parseOut = %v, want errMalformed", tc.name, err)
		}
	}
	good := appendItem(nil, item{data: []byte("ok")})
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"truncated header", []byte{0, 0, 0}},
		{"length past the end", append(appendItem(nil, item{data: []byte("abc")})[:itemHeader], 'a')},
		{"good then truncated", append(bytes.Clone(good), 0, 0)},
		{"huge length", []byte{0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{"unknown flags", append([]byte{0x30}, good[1:]...)},
	} {
		calls := 0
		if err := parseItems(tc.body, func(item) { calls++ }); !errors.Is(err, errMalformed) || calls != 0 {
			t.Errorf("%s: parseItems = %v after %d items, want errMalformed and none", tc.name, err, calls)
		}
	}
}

func TestCloseBodies(t *testing.T) {
	for _, tc := range []struct {
		code       int
		reason     string
		wantCode   int
		wantReason string
	}{
		{1000, "process exited with status 0", 1000, "process exited with status 0"},
		{1012, "", 1012, ""},
		{4000, "app", 4000, "app"},
		// Codes a client may not be sent become 1011.
		{1005, "x", 1011, "x"},
		{1006, "", 1011, ""},
		{999, "", 1011, ""},
		{5000, "", 1011, ""},
	} {
		code, reason, err := parseClose(appendClose(nil, tc.code, tc.reason))
		if err != nil || code != tc.wantCode || reason != tc.wantReason {
			t.Errorf("close %d %q: got %d %q %v, want %d %q", tc.code, tc.reason, code, reason, err, tc.wantCode, tc.wantReason)
		}
	}
	if _, _, err := parseClose([]byte{3}); !errors.Is(err, errMalformed) {
		t.Errorf("one-byte close body: %v, want errMalformed", err)
	}
}

func TestInMessages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		msg     []byte
		want    inHeader
		wantErr bool
	}{
		{"input", append(appendInHeader(nil, inHeader{op: opInput, link: 4, seq: 2}), "hi\n"...), inHeader{opInput, 4, 2}, false},
		{"join", append(appendInHeader(nil, inHeader{op: opJoin, link: 4, seq: 3}), 0, 0, 0, 9), inHeader{opJoin, 4, 3}, false},
		{"ping", appendInHeader(nil, inHeader{op: opPing, link: 1, seq: 1}), inHeader{opPing, 1, 1}, false},
		{"join without ID", appendInHeader(nil, inHeader{op: opJoin, link: 4, seq: 3}), inHeader{}, true},
		{"leave with a long ID", append(appendInHeader(nil, inHeader{op: opLeave}), 1, 2, 3, 4, 5), inHeader{}, true},
		{"owner's op", appendInHeader(nil, inHeader{op: opData}), inHeader{}, true},
		{"short", []byte{opPing, 0}, inHeader{}, true},
	} {
		h, _, err := parseIn(tc.msg)
		if (err != nil) != tc.wantErr || h != tc.want {
			t.Errorf("%s: parseIn = %+v %v, want %+v (error %v)", tc.name, h, err, tc.want, tc.wantErr)
		}
	}
}

// FuzzParse feeds bytes from another node to every parser: none may
// panic, and whatever parses must encode back to the same bytes.
func FuzzParse(f *testing.F) {
	f.Add(append(appendOutHeader(nil, outHeader{op: opData, epoch: 1, seq: 1}), appendItem(nil, item{to: 2, data: []byte("x")})...))
	f.Add(append(appendOutHeader(nil, outHeader{op: opClose, epoch: 1, seq: 2}), appendClose(nil, 1000, "bye")...))
	f.Add(append(appendInHeader(nil, inHeader{op: opJoin, link: 1, seq: 1}), 0, 0, 0, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		if h, body, err := parseOut(msg); err == nil {
			var again []byte
			if h.op == opData && parseItems(body, func(it item) { again = appendItem(again, it) }) == nil && !bytes.Equal(again, body) {
				t.Fatalf("items %x encode back to %x", body, again)
			}
			if h.op == opClose {
				parseClose(body)
			}
		}
		if h, body, err := parseIn(msg); err == nil {
			if again := append(appendInHeader(nil, h), body...); !bytes.Equal(again, msg) {
				t.Fatalf("message %x encodes back to %x", msg, again)
			}
		}
	})
}
