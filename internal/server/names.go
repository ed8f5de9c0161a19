package server

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxRoomName is the longest room name in bytes (SPEC §3).
const maxRoomName = 128

// reservedNames are paths the server keeps for itself, now or later.
var reservedNames = map[string]bool{
	"api": true, "metrics": true, "health": true, "static": true,
	"upload": true, "robots.txt": true, "favicon.ico": true,
}

// Reasons a room name is refused; each is shown to the client as is.
var (
	errNameEmpty    = errors.New("room name is empty")
	errNameEncoding = errors.New("room name is not valid percent-encoding")
	errNameLong     = errors.New("room name is longer than 128 bytes")
	errNameUTF8     = errors.New("room name is not valid UTF-8")
	errNameChar     = errors.New("room name contains a control character or '/'")
	errNameReserved = errors.New("room name is reserved")
)

// roomName returns the room of an upgrade request path: its first segment,
// percent-decoded, so that /chat and /chat/ are both room "chat".
func roomName(escapedPath string) (string, error) {
	seg := strings.TrimPrefix(escapedPath, "/")
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	name, err := url.PathUnescape(seg)
	if err != nil {
		return "", errNameEncoding
	}
	return name, validRoomName(name)
}

// validRoomName checks SPEC §3: 1–128 bytes of UTF-8 without control
// characters or '/', and not a reserved name.
func validRoomName(name string) error {
	switch {
	case name == "":
		return errNameEmpty
	case len(name) > maxRoomName:
		return errNameLong
	case !utf8.ValidString(name):
		return errNameUTF8
	case strings.IndexFunc(name, func(r rune) bool { return r == '/' || unicode.IsControl(r) }) >= 0:
		return errNameChar
	case reservedNames[name]:
		return errNameReserved
	}
	return nil
}
