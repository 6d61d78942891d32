package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// reportCase is a lake, the range to report on and what the report must say.
type reportCase struct {
	name   string
	texts  []string
	lakeTR store.TimeRange // the session's range (wider: the previous period)
	cfg    Config
	bucket time.Duration
	holds  string // in the page's summary
}

func reportCases() []reportCase {
	gen := time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)
	dayTR := store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)}
	return []reportCase{
		{name: "day", texts: []string{dayText(3, day, 4000), dayText(4, day.Add(-24*time.Hour), 1500)},
			lakeTR: store.TimeRange{Since: day.Add(-24 * time.Hour), Until: day.Add(24 * time.Hour)},
			cfg:    Config{Since: day, Until: day.Add(24 * time.Hour), Generated: gen}, bucket: 5 * time.Minute, holds: "records from"},
		{name: "empty", texts: []string{awsDefaultText},
			lakeTR: store.TimeRange{Since: day.Add(7 * 24 * time.Hour), Until: day.Add(8 * 24 * time.Hour)},
			cfg:    Config{Since: day.Add(7 * 24 * time.Hour), Until: day.Add(8 * 24 * time.Hour), Generated: gen}, bucket: 5 * time.Minute,
			holds: "holds no flow-log records"},
		{name: "one-record", texts: []string{strings.Join(strings.SplitAfter(awsDefaultText, "\n")[:2], "")},
			cfg: Config{Generated: gen}, bucket: time.Minute, holds: "1 records from 1 interfaces"},
		{name: "mixed", texts: []string{awsDefaultText, awsV5Text}, lakeTR: dayTR,
			cfg: Config{Since: day, Until: day.Add(24 * time.Hour), Generated: gen}, bucket: 5 * time.Minute, holds: "Flow-log versions: 2, 5"},
		{name: "year", texts: []string{yearText()},
			cfg: Config{Generated: gen}, bucket: 24 * time.Hour, holds: "records from"},
	}
}

// yearText is a year of sparse traffic: 300 records from day on, and the incidents.
func yearText() string {
	text, _ := synth.Scenario(5, synth.DetectFormat, day, 365*24*time.Hour, 300, day.Add(100*24*time.Hour))
	return string(text)
}

func TestBuildAgainstIndependentSQL(t *testing.T) {
	for _, tc := range reportCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.texts, tc.lakeTR)
			createRaw(t, f.sql())
			ctx := context.Background()
			d, err := Build(ctx, Input{DB: f.sql()}, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if d.Bucket != tc.bucket {
				t.Errorf("bucket %v, want %v", d.Bucket, tc.bucket)
			}
			o := oracle{t: t, f: f, since: d.Since.Unix(), until: d.Until.Unix(), bucket: int64(d.Bucket / time.Second)}
			o.checkSummary(d.Summary)
			o.checkTraffic(d.Traffic, o.since, o.until)
			o.checkTraffic(shiftSeries(append([]TrafficPoint(nil), d.Previous...), -(o.until-o.since)), 2*o.since-o.until, o.since)
			o.checkDirection(d.Direction)
			o.checkPairs(d.Pairs)
			o.checkHosts(d.Hosts)
			o.checkSankey(d.Sankey)
			o.checkHeatmap(d.Heatmap)
			o.checkHealth(d.Health)
			var page bytes.Buffer
			if err := Write(&page, d); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(page.String(), tc.holds) {
				t.Errorf("the page does not say %q; it says %q", tc.holds, holds(d))
			}
			golden(t, tc.name, d)
		})
	}
}

// golden compares d as JSON with testdata/NAME.json.
func golden(t *testing.T, name string, d *Data) {
	t.Helper()
	got, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("%s differs (-got +want; go test -update to accept):\n%s", path, diff)
	}
}

func TestBucketFor(t *testing.T) {
	for _, c := range []struct {
		span, want time.Duration
	}{
		{0, time.Minute}, {time.Hour, time.Minute}, {6 * time.Hour, time.Minute}, {7 * time.Hour, 5 * time.Minute},
		{24 * time.Hour, 5 * time.Minute}, {7 * 24 * time.Hour, time.Hour}, {30 * 24 * time.Hour, 3 * time.Hour},
		{365 * 24 * time.Hour, 24 * time.Hour}, {10 * 365 * 24 * time.Hour, 7 * 24 * time.Hour},
	} {
		if got := BucketFor(c.span); got != c.want {
			t.Errorf("BucketFor(%v) = %v, want %v", c.span, got, c.want)
		}
	}
}

func TestAlertsOfTheRangeOnly(t *testing.T) {
	at := func(h int) detect.Alert {
		return detect.Alert{Detector: "reject", Src: "10.0.0.1", WindowStart: day.Add(time.Duration(h) * time.Hour)}
	}
	got := alertsIn([]detect.Alert{at(25), at(3), at(-1), at(24), at(0), at(23)}, day, day.Add(24*time.Hour))
	var hours []int
	for _, a := range got {
		hours = append(hours, int(a.WindowStart.Sub(day)/time.Hour))
	}
	if diff := cmp.Diff(hours, []int{0, 3, 23}); diff != "" {
		t.Errorf("alerts (-got +want):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{Top: -1, Since: day, Until: day}.Validate()
	if err == nil || !strings.Contains(err.Error(), "top -1") || !strings.Contains(err.Error(), "empty range") {
		t.Errorf("Validate = %v, want both problems", err)
	}
}

// groupOf is the oracle's sankey group of an address, with net/netip.
func groupOf(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "unknown"
	}
	for _, p := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return netip.PrefixFrom(a, 24).Masked().String()
		}
	}
	if netip.MustParsePrefix("fc00::/7").Contains(a) {
		return "IPv6 private"
	}
	return "internet"
}

// TestHealthStatuses: hand-written records of four interfaces, one per
// status, worst first.
func TestHealthStatuses(t *testing.T) {
	at := func(h, m int) int64 { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).Unix() }
	ok := func(eni string, start int64) string {
		return fmt.Sprintf("2 123456789010 %s 10.0.1.5 10.0.2.9 40000 443 6 10 800 %d %d ACCEPT OK\n", eni, start, start+60)
	}
	status := func(eni string, start int64, s string) string {
		return fmt.Sprintf("2 123456789010 %s - - - - - - - %d %d - %s\n", eni, start, start+60, s)
	}
	text := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		ok("eni-aaaa", at(0, 10)) + ok("eni-aaaa", at(23, 50)) +
		status("eni-bbbb", at(0, 0), "NODATA") + status("eni-bbbb", at(12, 0), "NODATA") + status("eni-bbbb", at(23, 55), "NODATA") +
		ok("eni-cccc", at(1, 0)) + status("eni-cccc", at(5, 0), "SKIPDATA") + ok("eni-cccc", at(23, 0)) +
		ok("eni-dddd", at(0, 0)) + ok("eni-dddd", at(12, 0))
	tr := store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)}
	f := newFixture(t, []string{text}, tr)
	d, err := Build(context.Background(), Input{DB: f.sql()}, Config{Since: tr.Since, Until: tr.Until})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range d.Health {
		got = append(got, in.ENI+" "+in.Status)
	}
	want := []string{"eni-cccc SKIPDATA", "eni-bbbb NODATA", "eni-dddd SILENT", "eni-aaaa OK"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("statuses (-got +want):\n%s", diff)
	}
	strip := d.Health[1].Strip
	if len(strip) != 288 || strip[0] != 'n' || strip[144] != 'n' || strip[287] != 'n' || strings.Count(strip, ".") != 285 {
		t.Errorf("eni-bbbb strip: %q", strip)
	}
	if s := d.Health[0].Strip; s[12] != 'o' || s[60] != 's' {
		t.Errorf("eni-cccc strip: %q", s)
	}
}

func TestWriteFileLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteFile(filepath.Join(dir, "missing", "r.html"), &Data{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("WriteFile into a missing directory: %v", err)
	}
	d := &Data{Since: day, Until: day.Add(time.Hour), Bucket: time.Minute}
	n, err := WriteFile(filepath.Join(dir, "r.html"), d)
	if err != nil || n == 0 {
		t.Fatalf("WriteFile: %d, %v", n, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
}
