package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/synth"
)

// TestReportCommand: flowq report over an ingested day writes one
// self-contained page with the day's alerts and prints its path.
func TestReportCommand(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	text, incidents := synth.Scenario(9, synth.DetectFormat, day, 24*time.Hour, 3000, day.Add(10*time.Hour))
	dir := t.TempDir()
	flows := writeFile(t, dir, "flows.log", text)
	lake := filepath.Join(dir, "lake")
	if code, _, stderr := runCLI(t, "", nil, "--lake", lake, "ingest", flows); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "day.html")
	code, stdout, stderr := runCLI(t, "", nil, "--lake", lake, "report", "--since", "2026-11-20", "--until", "2026-11-21", "-o", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != out {
		t.Errorf("stdout %q, want the report's path %s", stdout, out)
	}
	if !strings.Contains(stderr, "3,0") || !strings.Contains(stderr, "alerts") {
		t.Errorf("stderr does not say what the report holds: %q", stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.Contains(html, "2026-11-20 00:00 – 2026-11-21 00:00 UTC") {
		t.Errorf("not the day's report: %.300s", html)
	}
	// Self-contained: nothing is loaded from elsewhere.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:|//)`).FindString(html); m != "" {
		t.Errorf("the page loads something from outside: %s", m)
	}
	for _, in := range incidents {
		for _, e := range in.Alerts {
			if !strings.Contains(html, e.Src) {
				t.Errorf("incident %s: its source %s is not in the page", in.Name, e.Src)
			}
		}
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("report file mode: %v %v", st.Mode(), err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".day.html.*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// The detectors take flowq detect's options.
	code, _, stderr = runCLI(t, "", nil, "--lake", lake, "report", "--detectors", "portscan", "-o", filepath.Join(dir, "scan.html"))
	if code != 0 || !strings.Contains(stderr, " 1 alert,") {
		t.Errorf("report --detectors portscan: exit %d: %s", code, stderr)
	}

	code, _, stderr = runCLI(t, "", nil, "--lake", lake, "report", "--no-alerts", "-o", filepath.Join(dir, "all.html"))
	if code != 0 || !strings.Contains(stderr, " 0 alerts") {
		t.Errorf("report --no-alerts of the whole lake: exit %d: %s", code, stderr)
	}
}

func TestReportUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"argument", []string{"report", "extra"}, exitUsage, "unknown command"},
		{"top", []string{"report", "--top", "0"}, exitUsage, "--top 0"},
		{"since", []string{"report", "--since", "yesterday"}, exitUsage, "--since"},
		{"detector option", []string{"report", "--window", "soon"}, exitUsage, "--window"},
		{"no lake", []string{"--lake", filepath.Join(dir, "none"), "report", "-o", filepath.Join(dir, "r.html")}, exitRejected, "no lake at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", nil, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.want)
			}
		})
	}
}

// TestDemoEndsWithReport: flowq demo ends by writing the day's report
// beside its lake and printing the path last.
func TestDemoEndsWithReport(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "demo-lake")
	code, stdout, stderr := runCLI(t, "", nil, "--lake", lake, "demo", "--records", "2000")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	want := lake + "-report.html"
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != want {
		t.Errorf("the demo's last line is %q, want the report's path %s", last, want)
	}
	page, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "flowq demo report") || !strings.Contains(string(page), "exfiltration") {
		t.Errorf("the demo's report lacks its title or the exfiltration alert")
	}
}
