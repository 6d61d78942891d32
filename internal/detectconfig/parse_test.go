package detectconfig

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	doc := `# tuned for the tradai network
watch: [10.0.0.0/16, 10.1.0.0/16]
window: 30m
detectors: exfiltration, reject
exfil-bytes: 2MB
exfil-budget:
  - 50MB/24h
allow-src: 10.0.0.10
any-pair: false
aws-services: true
reject-threshold: 3
ports: [22, 3306, 8000-8100]
scan-ports: 20
evidence: 8
retention: 12h
`
	got, err := Parse("detect.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Watch = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("10.1.0.0/16")}
	want.Window = 30 * time.Minute
	want.Detectors = []string{Exfiltration, Reject}
	want.ExfilBytes = 2_000_000
	want.ExfilBudgets = []ExfilRule{{Bytes: 50_000_000, Window: 24 * time.Hour}}
	want.ExfilAllowSrc = []netip.Prefix{netip.MustParsePrefix("10.0.0.10/32")}
	want.ExfilAWSServices = true
	want.RejectThreshold = 3
	want.RejectPorts = []PortRange{{22, 22}, {3306, 3306}, {8000, 8100}}
	want.ScanPorts = 20
	want.Evidence = 8
	want.Retention = 12 * time.Hour
	if d := cmp.Diff(got, want, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("(-got +want)\n%s", d)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "---\n"} {
		got, err := Parse("empty.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if d := cmp.Diff(got, Default(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
			t.Errorf("%q: (-got +want)\n%s", doc, d)
		}
	}
}

// Errors name the file, the line and the option, and every problem is
// reported at once.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "watch: 10.0.0.0/16\nexfil_bytes: 5\n", []string{`bad.yaml:2: unknown option "exfil_bytes" (did you mean "exfil-bytes"?)`}},
		{"typo", "exfil-byts: 5\n", []string{`bad.yaml:1: unknown option "exfil-byts" (did you mean "exfil-bytes"?)`}},
		{"bad cidr", "window: 1h\nwatch:\n  - 10.0.0.0/16\n  - 10.0.0.300/24\n", []string{"bad.yaml:3: watch: ", "10.0.0.300/24"}},
		{"bad bytes", "exfil-bytes: lots\n", []string{`bad.yaml:1: exfil-bytes: "lots" is not a byte count`}},
		{"invalid value", "\n\nscan-ports: 1\n", []string{"bad.yaml:3: scan-ports: 1 must be from 2 to 512"}},
		{"two problems", "window: 10s\nevidence: 99\n", []string{"bad.yaml:1: window: 10s must be from 1m", "bad.yaml:2: evidence: 99 must be from 0 to 50"}},
		{"duplicate", "window: 1h\nwindow: 2h\n", []string{"bad.yaml:2: ", `"window" already defined`}},
		{"not a mapping", "- watch\n", []string{"bad.yaml:1: want a mapping of options"}},
		{"syntax", "watch: [10.0.0.0/16\n", []string{"bad.yaml:"}},
		{"list for scalar", "window: [1h, 2h]\n", []string{"bad.yaml:1: window: want a single value, found a list"}},
		{"unknown detector", "detectors: [exfil]\n", []string{`bad.yaml:1: detectors: unknown detector "exfil"`}},
		{"bad budget", "exfil-budget: 50MB\n", []string{`bad.yaml:1: exfil-budget: "50MB": want BYTES/WINDOW`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// Every option round-trips through Get and Set, and has a unique name.
func TestOptionsRoundTrip(t *testing.T) {
	c := Default()
	c.ExfilBudgets = []ExfilRule{{Bytes: 5e7, Window: 24 * time.Hour}}
	c.RejectPorts = []PortRange{{22, 22}, {8000, 8100}}
	c.ExfilAllowSrc = []netip.Prefix{netip.MustParsePrefix("10.0.0.10/32"), netip.MustParsePrefix("2001:db8::/32")}
	seen := map[string]bool{}
	for _, o := range Options() {
		if seen[o.Name] {
			t.Errorf("option %s twice", o.Name)
		}
		seen[o.Name] = true
		var d Config
		if err := o.Set(&d, o.Get(&c)); err != nil {
			t.Errorf("%s: Set(Get) = %v", o.Name, err)
			continue
		}
		if got, want := o.Get(&d), o.Get(&c); got != want {
			t.Errorf("%s: round trip %q, want %q", o.Name, got, want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1000000": 1e6, "1MB": 1e6, "1.5 GB": 1.5e9, "512KiB": 512 << 10, "5mib": 5 << 20, "7 B": 7} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "1XB", "NaN", "1e30GB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q): no error", in)
		}
	}
}
