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
		"exfiltration 10.0.11.50 -> 203.0.113.77",
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

	// --fresh wipes a lake, and refuses a directory that is not one.
	if code, _, stderr := runCLI(t, "", nil, "--lake", lake, "demo", "--fresh", "--records", "1000"); code != 0 {
		t.Fatalf("demo --fresh: exit %d: %s", code, stderr)
	}
	if n := len(lakeListing(t, lake)); n >= len(before) {
		t.Errorf("--fresh kept the old lake: %d files", n)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("keep me"), 0o644)
	if code, _, stderr := runCLI(t, "", nil, "--lake", other, "demo", "--fresh", "--records", "1000"); code == 0 || !strings.Contains(stderr, "not part of a lake") {
		t.Errorf("--fresh on a non-lake directory: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Error("--fresh removed a file that is not part of a lake")
	}
}
