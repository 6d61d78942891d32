package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lakeListing(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			m[p] = fi.Size()
		}
		return nil
	})
	return m
}

// TestDemo runs the whole story on a small day: every incident is found,
// the queries run, and a second run leaves the lake as it was.
func TestDemo(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "flowlake")
	code, out, stderr := runCLI(t, "", nil, "--lake", lake, "demo", "--records", "20000")
	if code != 0 {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"CloudWatch Logs subscription events", "ENI log streams", "0 bad lines",
		"ecs-rejects      found", "database-egress  found", "exfiltration     found", "port-scan        found",
		"exfiltration 10.0.11.50 (tradai-backend-api) -> 203.0.113.77",
		"DENY  security-group  sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 10.0.21.100",
		"flowq run top-talkers", "flowq run rejects-by-source", "flowq run flows-for-ip", "203.0.113.77",
		"Try next:", lake,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MISSED") {
		t.Errorf("an incident was missed:\n%s", out)
	}
	before := lakeListing(t, lake)
	if len(before) == 0 {
		t.Fatal("the lake is empty")
	}
	if code, _, stderr := runCLI(t, "", nil, "--lake", lake, "demo", "--records", "20000"); code != 0 {
		t.Fatalf("second demo: exit %d: %s", code, stderr)
	}
	after := lakeListing(t, lake)
	if len(after) != len(before) {
		t.Errorf("a second run changed the lake from %d to %d files", len(before), len(after))
	}
	for p, n := range before {
		if after[p] != n {
			t.Errorf("%s: %d bytes, then %d", p, n, after[p])
		}
	}

	marker, err := os.ReadFile(filepath.Join(lake, ".flowq-demo"))
	if err != nil || !strings.Contains(string(marker), "written by flowq demo") {
		t.Fatalf("no demo marker: %v", err)
	}

	// --fresh empties the demo's lake.
	if code, _, stderr := runCLI(t, "", nil, "--lake", lake, "demo", "--fresh", "--records", "1000"); code != 0 {
		t.Fatalf("demo --fresh: exit %d: %s", code, stderr)
	}
	if n := len(lakeListing(t, lake)); n >= len(before) {
		t.Errorf("--fresh kept the old lake: %d files", n)
	}
}

// TestDemoOwnLake: the demo never touches a lake it did not create. Its
// default is its own directory, not FLOWQ_LAKE or ./flowlake; it refuses a
// non-empty directory without its marker; --fresh refuses a demo lake that
// holds a file the demo did not write (the old --fresh deleted anything
// under year= directories, and the old default was the user's lake).
func TestDemoOwnLake(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	user := filepath.Join(dir, "mylake")
	writeFile(t, user, "year=2026/month=11/day=20/hour=08/b-mine.parquet", []byte("the user's data"))
	code, out, stderr := runCLI(t, "", map[string]string{"FLOWQ_LAKE": user}, "demo", "--records", "1000")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, filepath.Join(dir, "flowq-demo")) {
		t.Errorf("the demo did not use ./flowq-demo:\n%s", out)
	}
	if got := lakeListing(t, user); len(got) != 1 {
		t.Errorf("the demo touched FLOWQ_LAKE: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "flowlake")); err == nil {
		t.Error("the demo wrote ./flowlake")
	}
	for _, fresh := range []string{"--fresh=false", "--fresh"} {
		code, _, stderr := runCLI(t, "", nil, "--lake", user, "demo", fresh, "--records", "1000")
		if code == 0 || !strings.Contains(stderr, "not a lake flowq demo created") {
			t.Errorf("demo %s into the user's lake: exit %d, %s", fresh, code, stderr)
		}
	}
	if got := lakeListing(t, user); len(got) != 1 {
		t.Errorf("the demo touched the user's lake: %v", got)
	}
	// Data written into the demo's lake by someone else: --fresh refuses.
	demoLake := filepath.Join(dir, "flowq-demo")
	mine := writeFile(t, demoLake, "year=2026/month=11/day=21/hour=09/b-ingested-by-me.parquet", []byte("x"))
	code, _, stderr = runCLI(t, "", nil, "demo", "--fresh", "--records", "1000")
	if code == 0 || !strings.Contains(stderr, "b-ingested-by-me.parquet") {
		t.Errorf("--fresh over foreign data: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("--fresh removed a file the demo did not write")
	}
}
