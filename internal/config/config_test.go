package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/scalesocket/scalesocket-go/internal/origin"
)

var update = flag.Bool("update", false, "rewrite testdata/usage.golden from Usage()")

// base is what Parse returns for "scalesocket cmd".
func base() Config {
	return Config{
		Addr:         "0.0.0.0:9000",
		Command:      "cmd",
		Delimiters:   "\n",
		TCPPortStart: 9001,
		TCPPortEnd:   9999,
		Grace:        2 * time.Second,
		SendQueue:    4096,
		SendTimeout:  time.Second,
		MaxMsgSize:   1048576,
		Ping:         30 * time.Second,
		CacheBytes:   64 << 20,
		PassEnv:      []string{"PATH", "DYLD_LIBRARY_PATH"},
		LogFormat:    "text",
		Placement:    "first",
		LeaseTTL:     10 * time.Second,
	}
}

func TestClusterFlags(t *testing.T) {
	c := mustParse(t, "--cluster", "nats://a:4222, tls://b:4222", "--clustercreds=u.creds", "--nodename", "n1",
		"--placement=leastloaded", "--leasettl", "3s", "cmd")
	want := base()
	want.Cluster = []string{"nats://a:4222", "tls://b:4222"}
	want.ClusterCreds, want.NodeName, want.Placement, want.LeaseTTL = "u.creds", "n1", "leastloaded", 3*time.Second
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got %+v\nwant %+v", *c, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodename", "n1", "cmd"}, "--nodename requires --cluster"},
		{[]string{"--placement", "first", "cmd"}, "--placement requires --cluster"},
		{[]string{"--leasettl", "5s", "cmd"}, "--leasettl requires --cluster"},
		{[]string{"--clustercreds", "f", "cmd"}, "--clustercreds requires --cluster"},
		{[]string{"--cluster", "nats://a,,b", "cmd"}, `invalid value "nats://a,,b" for --cluster: empty NATS URL in the list`},
		{[]string{"--cluster", "nats://a", "--placement", "random", "cmd"}, `invalid value "random" for --placement: must be first or leastloaded`},
		{[]string{"--cluster", "nats://a", "--leasettl", "500ms", "cmd"}, `invalid value "500ms" for --leasettl: must be at least 1s`},
	} {
		_, err := Parse(tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Error() != tc.want {
			t.Errorf("Parse(%q) = %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}

func mustParse(t *testing.T, args ...string) *Config {
	t.Helper()
	c, err := Parse(args)
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	got := mustParse(t, "cmd")
	if want := base(); !reflect.DeepEqual(*got, want) {
		t.Errorf("Parse(cmd) =\n%+v\nwant\n%+v", *got, want)
	}
}

// TestDefaultsShownAreDefaults gives every flag the default --help shows for
// it and expects nothing to change.
func TestDefaultsShownAreDefaults(t *testing.T) {
	t.Parallel()
	want := mustParse(t, "cmd")
	wantClustered := mustParse(t, "--cluster", "nats://n", "cmd")
	for _, o := range options {
		if o.def == "" {
			continue
		}
		args, want := []string{"--" + o.name, o.def, "cmd"}, want
		if o.group == "Cluster" {
			// The cluster's flags require --cluster.
			args, want = append([]string{"--cluster", "nats://n"}, args...), wantClustered
		}
		got := mustParse(t, args...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("--%s %s: got %+v, want the defaults %+v", o.name, o.def, got, want)
		}
	}
}

// valueCases give each flag that takes a value one value and its effect.
// Every case runs in both the --flag=value and the --flag value form.
var valueCases = []struct {
	flag, value string
	want        func(c *Config)
}{
	{"addr", "127.0.0.1:8080", func(c *Config) { c.Addr = "127.0.0.1:8080" }},
	{"addr", "[::1]:0", func(c *Config) { c.Addr = "[::1]:0" }},
	{"addr", ":9000", func(c *Config) { c.Addr = ":9000" }},
	{"staticdir", "./public", func(c *Config) { c.StaticDir = "./public" }},
	{"log", "json", func(c *Config) { c.LogFormat = "json" }},
	{"log", "text", func(c *Config) {}},
	{"tcpports", "10000:10010", func(c *Config) { c.TCPPortStart, c.TCPPortEnd = 10000, 10010 }},
	{"tcpports", "1:65535", func(c *Config) { c.TCPPortStart, c.TCPPortEnd = 1, 65535 }},
	{"delay", "5", func(c *Config) { c.Delay = 5 * time.Second }},
	{"delay", "0", func(c *Config) {}},
	{"passenv", "HOME, LANG ,TERM", func(c *Config) { c.PassEnv = []string{"HOME", "LANG", "TERM"} }},
	{"passenv", "", func(c *Config) { c.PassEnv = nil }},
	{"grace", "500ms", func(c *Config) { c.Grace = 500 * time.Millisecond }},
	{"grace", "0s", func(c *Config) { c.Grace = 0 }},
	{"delimiters", ",;", func(c *Config) { c.Delimiters = ",;" }},
	{"delimiters", "\t", func(c *Config) { c.Delimiters = "\t" }},
	{"delimiters", `\n`, func(c *Config) { c.Delimiters = `\n` }}, // not an escape
	{"clientframe", "gwsocket", func(c *Config) { c.ClientFrame = FrameGWSocket }},
	{"clientframe", "json", func(c *Config) { c.ClientFrame = FrameJSON }},
	{"serverframe", "gwsocket", func(c *Config) { c.ServerFrame = FrameGWSocket }},
	{"serverframe", "json", func(c *Config) { c.ServerFrame = FrameJSON }},
	{"joinmsg", "join #ID #ROOM", func(c *Config) { c.JoinMsg = "join #ID #ROOM" }},
	{"joinmsg", "--looks-like-a-flag", func(c *Config) { c.JoinMsg = "--looks-like-a-flag" }},
	{"leavemsg", "leave #ID", func(c *Config) { c.LeaveMsg = "leave #ID" }},
	{"cache", "5", func(c *Config) { c.CacheSize, c.CacheKind = 5, CacheAll }},
	{"cache", "all:1", func(c *Config) { c.CacheSize, c.CacheKind = 1, CacheAll }},
	{"cache", "tagged:100000", func(c *Config) { c.CacheSize, c.CacheKind = 100000, CacheTagged }},
	{"rooms", " lobby , game-1", func(c *Config) { c.Rooms = []string{"lobby", "game-1"} }},
	{"rooms", "solo", func(c *Config) { c.Rooms = []string{"solo"} }},
	{"maxrooms", "3", func(c *Config) { c.MaxRooms = 3 }},
	{"maxforks", "7", func(c *Config) { c.MaxRooms = 7 }},
	{"maxmsgsize", "1", func(c *Config) { c.MaxMsgSize = 1 }},
	{"sendqueue", "1", func(c *Config) { c.SendQueue = 1 }},
	{"sendqueue", "1048576", func(c *Config) { c.SendQueue = 1048576 }},
	{"sendtimeout", "250ms", func(c *Config) { c.SendTimeout = 250 * time.Millisecond }},
	{"maxconns", "100", func(c *Config) { c.MaxConns = 100 }},
	{"cachebytes", "1000", func(c *Config) { c.CacheBytes = 1000 }},
	{"maxclients", "8", func(c *Config) { c.MaxClients = 8 }},
	{"maxperip", "4", func(c *Config) { c.MaxPerIP = 4 }},
	{"ratelimit", "50", func(c *Config) { c.RateLimit = 50 }},
	{"ping", "5s", func(c *Config) { c.Ping = 5 * time.Second }},
	{"ping", "0", func(c *Config) { c.Ping = 0 }},
	{"origin", "https://example.com, https://*.example.org:8443", func(c *Config) {
		c.Origin.Allowed = []origin.Pattern{
			{Scheme: "https", Host: "example.com", Port: "443"},
			{Scheme: "https", Host: "example.org", Port: "8443", Wildcard: true},
		}
	}},
}

func TestValueFlagsInBothForms(t *testing.T) {
	t.Parallel()
	for _, tc := range valueCases {
		for _, args := range [][]string{
			{"--" + tc.flag + "=" + tc.value, "cmd"},
			{"--" + tc.flag, tc.value, "cmd"},
			{"cmd", "--" + tc.flag, tc.value}, // after CMD
		} {
			want := base()
			tc.want(&want)
			if got := mustParse(t, args...); !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", args, *got, want)
			}
		}
	}
}

func TestSwitches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want func(c *Config)
	}{
		{[]string{"--metrics"}, func(c *Config) { c.Metrics = true }},
		{[]string{"--api"}, func(c *Config) { c.API = true }},
		{[]string{"--tcp"}, func(c *Config) { c.TCP = true }},
		{[]string{"--oneshot"}, func(c *Config) { c.Oneshot = true }},
		{[]string{"--binary"}, func(c *Config) { c.Binary = true }},
		{[]string{"-b"}, func(c *Config) { c.Binary = true }},
		{[]string{"--binary=true"}, func(c *Config) { c.Binary = true }},
		{[]string{"--binary=false"}, func(c *Config) {}},
		{[]string{"--binary", "--binary=false"}, func(c *Config) {}},
		{[]string{"--null"}, func(c *Config) { c.Delimiters = "\x00" }},
		{[]string{"--null=false"}, func(c *Config) {}},
		{[]string{"--cache=8", "--cachepersist"}, func(c *Config) { c.CacheSize, c.CachePersist = 8, true }},
		{[]string{"--cachepersist=false"}, func(c *Config) {}},
		{[]string{"--json"}, func(c *Config) {
			c.ClientFrame, c.ServerFrame = FrameJSON, FrameJSON
			c.JoinMsg, c.LeaveMsg = `{"t":"Join","_from":#ID}`, `{"t":"Leave","_from":#ID}`
		}},
		{[]string{"--json", "--joinmsg", "hi #ID"}, func(c *Config) {
			c.ClientFrame, c.ServerFrame = FrameJSON, FrameJSON
			c.JoinMsg, c.LeaveMsg = "hi #ID", `{"t":"Leave","_from":#ID}`
		}},
		{[]string{"--leavemsg=", "--json"}, func(c *Config) {
			c.ClientFrame, c.ServerFrame = FrameJSON, FrameJSON
			c.JoinMsg = `{"t":"Join","_from":#ID}`
		}},
		{[]string{"--json=false", "--frame"}, func(c *Config) { c.ClientFrame, c.ServerFrame = FrameJSON, FrameJSON }},
		{[]string{"-v"}, func(c *Config) { c.Verbosity = 1 }},
		{[]string{"-vv"}, func(c *Config) { c.Verbosity = 2 }},
		{[]string{"-vvv"}, func(c *Config) { c.Verbosity = 3 }},
		{[]string{"-v", "-v"}, func(c *Config) { c.Verbosity = 2 }},
		{[]string{"--verbose", "-vv"}, func(c *Config) { c.Verbosity = 3 }},
		{[]string{"-bv"}, func(c *Config) { c.Binary, c.Verbosity = true, 1 }},
		{[]string{"--verbose=2"}, func(c *Config) { c.Verbosity = 2 }},
		{[]string{"-vv", "--verbose=0"}, func(c *Config) {}},
		{[]string{"-q"}, func(c *Config) { c.Quiet = true }},
		{[]string{"--quiet"}, func(c *Config) { c.Quiet = true }},
		{[]string{"-bq"}, func(c *Config) { c.Binary, c.Quiet = true, true }},
	}
	for _, tc := range tests {
		for _, args := range [][]string{
			append(tc.args, "cmd"),
			append([]string{"cmd"}, tc.args...),
		} {
			want := base()
			tc.want(&want)
			if got := mustParse(t, args...); !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", args, *got, want)
			}
		}
	}
}

// TestFrame covers --frame's optional value: it is taken only after "=", so
// that a bare --frame never swallows CMD.
func TestFrameTakesModeOnlyAfterEquals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want Framing
	}{
		{[]string{"--frame", "cmd"}, FrameJSON},
		{[]string{"cmd", "--frame"}, FrameJSON},
		{[]string{"--frame=json", "cmd"}, FrameJSON},
		{[]string{"--frame=gwsocket", "cmd"}, FrameGWSocket},
		{[]string{"cmd", "--frame=gwsocket"}, FrameGWSocket},
	}
	for _, tc := range tests {
		got := mustParse(t, tc.args...)
		if got.ClientFrame != tc.want || got.ServerFrame != tc.want || got.Command != "cmd" {
			t.Errorf("Parse(%q): frames %v/%v, CMD %q; want %v both ways and CMD cmd",
				tc.args, got.ClientFrame, got.ServerFrame, got.Command, tc.want)
		}
	}
}

func TestEverythingAfterDashDashGoesToCMD(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		cmd      string
		wantArgs []string
	}{
		{[]string{"./cmd.sh"}, "./cmd.sh", nil},
		{[]string{"./cmd.sh", "--"}, "./cmd.sh", nil},
		{[]string{"./cmd.sh", "--", "a", "b"}, "./cmd.sh", []string{"a", "b"}},
		{[]string{"--tcp", "./cmd.sh", "--oneshot", "--", "-v", "--tcp", "--", "x"},
			"./cmd.sh", []string{"-v", "--tcp", "--", "x"}},
		{[]string{"./cmd.sh", "--", "--unknown=1", "-h", "", "two words"},
			"./cmd.sh", []string{"--unknown=1", "-h", "", "two words"}},
		{[]string{"-", "--", "x"}, "-", []string{"x"}},
	}
	for _, tc := range tests {
		got := mustParse(t, tc.args...)
		if got.Command != tc.cmd || !reflect.DeepEqual(got.Args, tc.wantArgs) {
			t.Errorf("Parse(%q): CMD %q args %q; want %q %q", tc.args, got.Command, got.Args, tc.cmd, tc.wantArgs)
		}
	}
}

func TestArgsAreCopied(t *testing.T) {
	t.Parallel()
	in := []string{"cmd", "--", "a"}
	c := mustParse(t, in...)
	in[2] = "changed"
	if c.Args[0] != "a" {
		t.Errorf("Config.Args shares the caller's slice: %q", c.Args)
	}
}

func TestHelpAndVersionNeedNoCMD(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want error
	}{
		{[]string{"-h"}, ErrHelp},
		{[]string{"--help"}, ErrHelp},
		{[]string{"cmd", "--help"}, ErrHelp},
		{[]string{"--json", "--frame", "-h"}, ErrHelp}, // a conflict
		{[]string{"-h", "--unknown"}, ErrHelp},         // a mistake after -h
		{[]string{"-vh"}, ErrHelp},                     // in a group
		{[]string{"-h", "-V"}, ErrHelp},                // help wins
		{[]string{"-V"}, ErrVersion},
		{[]string{"--version"}, ErrVersion},
		{[]string{"a", "b", "--version"}, ErrVersion}, // an extra positional
		{[]string{"--help=false", "-V"}, ErrVersion},
	}
	for _, tc := range tests {
		c, err := Parse(tc.args)
		if !errors.Is(err, tc.want) || c != nil {
			t.Errorf("Parse(%q) = %v, %v; want nil, %v", tc.args, c, err, tc.want)
		}
	}
}

func TestUsageErrorsNameFlagAndValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		// CMD and positionals
		{nil, "missing CMD"},
		{[]string{"--tcp"}, "missing CMD"},
		{[]string{"--", "cmd"}, "missing CMD before --"},
		{[]string{""}, "CMD must not be empty"},
		{[]string{"cmd", "extra"}, `unexpected argument "extra" after CMD "cmd"; arguments for CMD go after --`},
		{[]string{"--frame", "gwsocket", "cmd"}, `unexpected argument "cmd" after CMD "gwsocket"; ` +
			`write --frame=gwsocket, as --frame takes its MODE only after =`},
		{[]string{"--frame", "json", "cmd"}, `unexpected argument "cmd" after CMD "json"; ` +
			`write --frame=json, as --frame takes its MODE only after =`},

		// unknown flags and syntax
		{[]string{"--foo", "cmd"}, "unknown flag: --foo"},
		{[]string{"--foo=bar", "cmd"}, "unknown flag: --foo"},
		{[]string{"cmd", "--maxroom", "3"}, "unknown flag: --maxroom"},
		{[]string{"-x", "cmd"}, "unknown flag: -x"},
		{[]string{"-vx", "cmd"}, "unknown flag: -x in -vx"},
		{[]string{"-json", "cmd"}, "unknown flag: -j in -json; did you mean --json?"},
		{[]string{"-binary", "cmd"}, "unknown flag: -i in -binary; did you mean --binary?"},
		{[]string{"-addr=:1", "cmd"}, "unknown flag: -a in -addr=:1; did you mean --addr?"},
		{[]string{"--a\nb", "cmd"}, `unknown flag: "--a\nb"`},
		{[]string{`--a"b`, "cmd"}, `unknown flag: --a"b`},
		{[]string{"---x", "cmd"}, "bad flag syntax: ---x"},
		{[]string{"--=x", "cmd"}, "bad flag syntax: --=x"},

		// missing values
		{[]string{"cmd", "--addr"}, "missing value for --addr"},
		{[]string{"cmd", "--clientframe"}, "missing value for --clientframe"},
		{[]string{"cmd", "--joinmsg"}, "missing value for --joinmsg"},

		// conflicts
		{[]string{"--json", "--frame", "cmd"}, "--json conflicts with --frame"},
		{[]string{"--oneshot", "--cluster", "nats://n", "cmd"}, "--oneshot conflicts with --cluster"},
		{[]string{"--frame=gwsocket", "--json", "cmd"}, "--json conflicts with --frame"},
		{[]string{"--json", "--clientframe=json", "cmd"}, "--json conflicts with --clientframe"},
		{[]string{"--json", "--serverframe", "json", "cmd"}, "--json conflicts with --serverframe"},
		{[]string{"--frame", "--clientframe=json", "cmd"}, "--frame conflicts with --clientframe"},
		{[]string{"--frame", "--serverframe=json", "cmd"}, "--frame conflicts with --serverframe"},
		{[]string{"-b", "--delimiters=,", "cmd"}, "--binary conflicts with --delimiters"},
		{[]string{"--binary", "--null", "cmd"}, "--binary conflicts with --null"},
		{[]string{"--null", "--delimiters=,", "cmd"}, "--null conflicts with --delimiters"},
		{[]string{"-q", "-v", "cmd"}, "--quiet conflicts with --verbose"},
		{[]string{"--maxrooms=1", "--maxforks=1", "cmd"}, "--maxrooms conflicts with --maxforks"},
		{[]string{"--cachepersist", "cmd"}, "--cachepersist requires --cache"},

		// values
		{[]string{"--addr", "9000", "cmd"}, `invalid value "9000" for --addr: must be HOST:PORT with PORT from 0 to 65535`},
		{[]string{"--addr=host:http", "cmd"}, `invalid value "host:http" for --addr: must be HOST:PORT with PORT from 0 to 65535`},
		{[]string{"--addr=:65536", "cmd"}, `invalid value ":65536" for --addr: must be HOST:PORT with PORT from 0 to 65535`},
		{[]string{"--binary=maybe", "cmd"}, `invalid value "maybe" for --binary: must be true or false`},
		{[]string{"-b=1x", "cmd"}, `invalid value "1x" for --binary: must be true or false`},
		{[]string{"--staticdir=", "cmd"}, `invalid value "" for --staticdir: must not be empty`},
		{[]string{"--log", "xml", "cmd"}, `invalid value "xml" for --log: must be text or json`},
		{[]string{"--verbose=lots", "cmd"}, `invalid value "lots" for --verbose: must be a non-negative integer`},
		{[]string{"--tcpports", "9001", "cmd"}, `invalid value "9001" for --tcpports: must be START:END`},
		{[]string{"--tcpports", "0:10", "cmd"}, `invalid value "0:10" for --tcpports: START must be a port from 1 to 65535`},
		{[]string{"--tcpports", "1:65536", "cmd"}, `invalid value "1:65536" for --tcpports: END must be at most 65535`},
		{[]string{"--tcpports", "a:b", "cmd"}, `invalid value "a:b" for --tcpports: START must be a port from 1 to 65535`},
		{[]string{"--tcpports", "10:10", "cmd"}, `invalid value "10:10" for --tcpports: START must be below END`},
		{[]string{"--tcpports", "20:10", "cmd"}, `invalid value "20:10" for --tcpports: START must be below END`},
		{[]string{"--delay", "1.5", "cmd"}, `invalid value "1.5" for --delay: must be a whole number of seconds, 0 or more`},
		{[]string{"--delay", "-1", "cmd"}, `invalid value "-1" for --delay: must be a whole number of seconds, 0 or more`},
		{[]string{"--delay", "2s", "cmd"}, `invalid value "2s" for --delay: must be a whole number of seconds, 0 or more`},
		{[]string{"--delay", "9223372037", "cmd"}, `invalid value "9223372037" for --delay: must be at most 9223372036`},
		{[]string{"--passenv", "A,,B", "cmd"}, `invalid value "A,,B" for --passenv: empty variable name in the list`},
		{[]string{"--passenv", "A=1", "cmd"}, `invalid value "A=1" for --passenv: "A=1" is not a variable name`},
		{[]string{"--grace", "2", "cmd"}, `invalid value "2" for --grace: must be a duration such as 1s or 300ms`},
		{[]string{"--grace", "-1s", "cmd"}, `invalid value "-1s" for --grace: must not be negative`},
		{[]string{"--delimiters=", "cmd"}, `invalid value "" for --delimiters: must not be empty`},
		{[]string{"--delimiters=§", "cmd"}, `invalid value "§" for --delimiters: '§' is not a single-byte character`},
		{[]string{"--frame=", "cmd"}, `invalid value "" for --frame: must be json or gwsocket`},
		{[]string{"--frame=none", "cmd"}, `invalid value "none" for --frame: must be json or gwsocket`},
		{[]string{"--frame=JSON", "cmd"}, `invalid value "JSON" for --frame: must be json or gwsocket`},
		{[]string{"--clientframe", "xml", "cmd"}, `invalid value "xml" for --clientframe: must be json or gwsocket`},
		{[]string{"--serverframe=", "cmd"}, `invalid value "" for --serverframe: must be json or gwsocket`},
		{[]string{"--cache=0", "cmd"}, `invalid value "0" for --cache: must be a SIZE from 1 to 100000`},
		{[]string{"--cache", "100001", "cmd"}, `invalid value "100001" for --cache: must be at most 100000`},
		{[]string{"--cache=tagged:", "cmd"}, `invalid value "tagged:" for --cache: must be a SIZE from 1 to 100000`},
		{[]string{"--cache=some:5", "cmd"}, `invalid value "some:5" for --cache: TYPE must be all or tagged`},
		{[]string{"--cache=big", "cmd"}, `invalid value "big" for --cache: must be a SIZE from 1 to 100000`},
		{[]string{"--rooms", "", "cmd"}, `invalid value "" for --rooms: empty room name in the list`},
		{[]string{"--rooms", "a,,b", "cmd"}, `invalid value "a,,b" for --rooms: empty room name in the list`},
		{[]string{"--rooms", "a, ", "cmd"}, `invalid value "a, " for --rooms: empty room name in the list`},
		{[]string{"--maxrooms", "abc", "cmd"}, `invalid value "abc" for --maxrooms: must be a positive integer`},
		{[]string{"--maxrooms", "0", "cmd"}, `invalid value "0" for --maxrooms: must be a positive integer`},
		{[]string{"--maxrooms", "+3", "cmd"}, `invalid value "+3" for --maxrooms: must be a positive integer`},
		{[]string{"--maxforks=-1", "cmd"}, `invalid value "-1" for --maxforks: must be a positive integer`},
		{[]string{"--maxrooms", "99999999999999999999", "cmd"},
			`invalid value "99999999999999999999" for --maxrooms: must be at most 9223372036854775807`},
		{[]string{"--maxmsgsize", "0", "cmd"}, `invalid value "0" for --maxmsgsize: must be a positive integer`},
		{[]string{"--maxmsgsize", "1MiB", "cmd"}, `invalid value "1MiB" for --maxmsgsize: must be a positive integer`},
		{[]string{"--sendqueue", "0", "cmd"}, `invalid value "0" for --sendqueue: must be a positive integer`},
		{[]string{"--sendqueue", "1048577", "cmd"}, `invalid value "1048577" for --sendqueue: must be at most 1048576`},
		{[]string{"--sendtimeout", "0s", "cmd"}, `invalid value "0s" for --sendtimeout: must be greater than 0`},
		{[]string{"--sendtimeout", "-1s", "cmd"}, `invalid value "-1s" for --sendtimeout: must not be negative`},
		{[]string{"--sendtimeout", "soon", "cmd"}, `invalid value "soon" for --sendtimeout: must be a duration such as 1s or 300ms`},
		{[]string{"--joinmsg=a", "--addr=x", "--maxrooms=0", "cmd"},
			`invalid value "x" for --addr: must be HOST:PORT with PORT from 0 to 65535`}, // first one wins
	}
	for _, tc := range tests {
		c, err := Parse(tc.args)
		var ue *UsageError
		if !errors.As(err, &ue) || c != nil {
			t.Errorf("Parse(%q) = %v, %v; want a *UsageError", tc.args, c, err)
			continue
		}
		if ue.Error() != tc.want {
			t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tc.args, ue.Error(), tc.want)
		}
	}
}

// TestEveryFlagTested keeps the tables above in step with the options.
func TestEveryFlagTested(t *testing.T) {
	t.Parallel()
	tested := map[string]bool{"help": true, "version": true}
	for _, tc := range valueCases {
		tested[tc.flag] = true
	}
	// The switches, -v and --frame have tests of their own.
	// --tlscert and --tlskey go together: TestTLSFlags; the cluster's
	// flags require --cluster: TestClusterFlags.
	for _, s := range []string{"metrics", "api", "tcp", "oneshot", "binary", "null", "cachepersist", "json", "verbose", "quiet", "frame", "sameorigin", "tlscert", "tlskey",
		"cluster", "clustercreds", "nodename", "placement", "leasettl"} {
		tested[s] = true
	}
	for _, o := range options {
		if !tested[o.name] {
			t.Errorf("--%s has no case in valueCases or TestSwitches", o.name)
		}
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	u := Usage()
	if !strings.Contains(u, "\nUsage: scalesocket [OPTIONS] <CMD> [-- <ARGS>...]\n") {
		t.Error("Usage lacks the usage line")
	}
	for i, line := range strings.Split(strings.TrimSuffix(u, "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > usageWidth {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
		if strings.TrimRight(line, " \t") != line {
			t.Errorf("line %d has trailing space: %q", i+1, line)
		}
	}
	for _, o := range options {
		if !strings.Contains(u, flagSpec(&o)+"  ") {
			t.Errorf("Usage does not list --%s as %q", o.name, flagSpec(&o))
		}
		if o.def != "" && !strings.Contains(u, "(default: "+o.def+")") {
			t.Errorf("Usage does not show the default of --%s", o.name)
		}
	}
}

// TestUsageGolden pins the --help text that the README embeds; run
// "go test ./internal/config -run UsageGolden -update" after changing it.
func TestUsageGolden(t *testing.T) {
	path := filepath.Join("testdata", "usage.golden")
	if *update {
		if err := os.WriteFile(path, []byte(Usage()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := Usage(); got != string(want) {
		t.Errorf("Usage() differs from %s; rerun with -update if the change is meant:\n%s", path, got)
	}
}

// FuzzParse feeds arbitrary command lines, one argument per NUL-separated
// field (the OS cannot pass a NUL inside an argument).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"cmd",
		"--frame\x00./cmd.sh",
		"--frame=gwsocket\x00cmd\x00--\x00-v\x00--x",
		"--json\x00--joinmsg\x00hi #ID\x00cmd",
		"--cache=tagged:5\x00--cachepersist\x00cmd",
		"-vvv\x00cmd\x00-b",
		"--tcp\x00--tcpports\x0010:20\x00--delay=3\x00cmd",
		"--rooms\x00a, b\x00--maxforks=2\x00cmd",
		"--passenv=\x00--null\x00cmd",
		"-json\x00cmd",
		"---\x00--=\x00-\x00--",
		"--grace=1h\x00--sendtimeout=1ms\x00--sendqueue=1\x00--maxmsgsize=1\x00cmd",
		"-h\x00--foo",
		"-V",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var args []string
		if in != "" {
			args = strings.Split(in, "\x00")
		}
		c, err := Parse(args)
		var ue *UsageError
		switch {
		case errors.Is(err, ErrHelp), errors.Is(err, ErrVersion):
			if c != nil {
				t.Fatalf("Parse(%q) = %+v with %v", args, c, err)
			}
		case errors.As(err, &ue):
			if c != nil || ue.Msg == "" || strings.ContainsAny(ue.Msg, "\n\r") {
				t.Fatalf("Parse(%q): bad usage error %q", args, ue.Msg)
			}
		case err != nil:
			t.Fatalf("Parse(%q): unexpected error type %T: %v", args, err, err)
		default:
			checkValid(t, args, c)
		}
	})
}

// checkValid holds what every successfully parsed Config promises.
func checkValid(t *testing.T, args []string, c *Config) {
	t.Helper()
	problems := map[string]bool{
		"empty Command":              c.Command == "",
		"empty Delimiters":           c.Delimiters == "",
		"bad TCP ports":              c.TCPPortStart < 1 || c.TCPPortEnd > 65535 || c.TCPPortStart >= c.TCPPortEnd,
		"bad CacheSize":              c.CacheSize < 0 || c.CacheSize > 100000,
		"CachePersist without cache": c.CachePersist && c.CacheSize == 0,
		"bad MaxRooms":               c.MaxRooms < 0,
		"bad Delay":                  c.Delay < 0 || c.Delay%time.Second != 0,
		"bad Grace":                  c.Grace < 0,
		"bad SendQueue":              c.SendQueue < 1,
		"bad SendTimeout":            c.SendTimeout <= 0,
		"bad MaxMsgSize":             c.MaxMsgSize < 1,
		"bad LogFormat":              c.LogFormat != "text" && c.LogFormat != "json",
		"bad framing":                c.ClientFrame > FrameGWSocket || c.ServerFrame > FrameGWSocket || c.ClientFrame < 0 || c.ServerFrame < 0,
		"binary with delimiters":     c.Binary && c.Delimiters != "\n",
	}
	for _, r := range c.Rooms {
		if r == "" {
			problems["empty room"] = true
		}
	}
	for p, bad := range problems {
		if bad {
			t.Errorf("Parse(%q) = %+v: %s", args, c, p)
		}
	}
}

func TestTLSFlags(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "--tlscert", "c.pem", "--tlskey=k.pem", "cmd")
	if c.TLSCert != "c.pem" || c.TLSKey != "k.pem" {
		t.Errorf("got cert %q key %q", c.TLSCert, c.TLSKey)
	}
	for _, args := range [][]string{{"--tlscert", "c.pem", "cmd"}, {"--tlskey", "k.pem", "cmd"}} {
		var ue *UsageError
		if _, err := Parse(args); !errors.As(err, &ue) || ue.Error() != "--tlscert and --tlskey go together" {
			t.Errorf("Parse(%q) = %v", args, err)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	if c := mustParse(t, "--sameorigin", "cmd"); !c.Origin.Same {
		t.Errorf("--sameorigin not set")
	}
}
