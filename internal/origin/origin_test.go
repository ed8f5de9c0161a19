package origin

import "testing"

func TestParseList(t *testing.T) {
	t.Parallel()
	good := []struct{ in, want string }{
		{"https://example.com", "https://example.com:443"},
		{"http://Example.COM:8080", "http://example.com:8080"},
		{"https://*.example.com", "https://*.example.com:443"},
		{"http://[::1]:9000", "http://[::1]:9000"},
		{"ws://localhost", "ws://localhost:80"},
	}
	for _, tc := range good {
		ps, err := ParseList(tc.in)
		if err != nil || len(ps) != 1 || ps[0].String() != tc.want {
			t.Errorf("ParseList(%q) = %v, %v; want %s", tc.in, ps, err, tc.want)
		}
	}
	for _, in := range []string{"", "example.com", "https://", "https://a.com,", "ftp://a.com", "https://a.com/path", "https://a*.com", "https://*.*.a.com", "https://a.com:x"} {
		if ps, err := ParseList(in); err == nil {
			t.Errorf("ParseList(%q) = %v, want an error", in, ps)
		}
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	allowed, err := ParseList("https://example.com,https://*.games.test:8443")
	if err != nil {
		t.Fatal(err)
	}
	list := Policy{Allowed: allowed}
	same := Policy{Same: true}
	tests := []struct {
		policy Policy
		origin string
		host   string
		tls    bool
		want   bool
	}{
		{Policy{}, "https://evil.test", "x", false, true},        // no check configured
		{list, "", "x", false, true},                             // not a browser
		{list, "null", "x", false, false},                        // sandboxed or file page
		{list, "https://example.com", "x", false, true},          // exact
		{list, "https://example.com:443", "x", false, true},      // default port written out
		{list, "https://EXAMPLE.com", "x", false, true},          // host case
		{list, "http://example.com", "x", false, false},          // scheme differs
		{list, "https://example.com:8443", "x", false, false},    // port differs
		{list, "https://sub.example.com", "x", false, false},     // no wildcard
		{list, "https://a.games.test:8443", "x", false, true},    // subdomain
		{list, "https://a.b.games.test:8443", "x", false, true},  // deeper subdomain
		{list, "https://games.test:8443", "x", false, false},     // wildcard excludes the bare domain
		{list, "https://evilgames.test:8443", "x", false, false}, // not a subdomain
		{list, "https://a.games.test", "x", false, false},        // port differs
		{same, "http://localhost:9000", "localhost:9000", false, true},
		{same, "http://localhost:9001", "localhost:9000", false, false},
		{same, "https://chat.test", "chat.test", true, true}, // default ports
		{same, "http://chat.test", "chat.test", true, false}, // 80 is not 443
		{same, "http://[::1]:9000", "[::1]:9000", false, true},
		{same, "null", "localhost:9000", false, false},
		{same, "::garbage", "localhost:9000", false, false},
	}
	for _, tc := range tests {
		if got := tc.policy.Allows(tc.origin, tc.host, tc.tls); got != tc.want {
			t.Errorf("%+v Allows(%q, %q, %v) = %v, want %v", tc.policy, tc.origin, tc.host, tc.tls, got, tc.want)
		}
	}
}

// FuzzAllows feeds client-controlled Origin and Host headers to the check:
// it must never panic, and an allowed non-empty origin must name its host.
func FuzzAllows(f *testing.F) {
	f.Add("https://a.games.test:8443", "localhost:9000")
	f.Add("null", "[::1]:80")
	f.Add("http://[::1", "%zz")
	allowed, err := ParseList("https://example.com,https://*.games.test:8443")
	if err != nil {
		f.Fatal(err)
	}
	p := Policy{Allowed: allowed, Same: true}
	f.Fuzz(func(t *testing.T, origin, host string) {
		p.Allows(origin, host, false)
		p.Allows(origin, host, true)
	})
}
