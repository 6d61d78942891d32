package demo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func put(t *testing.T, dir, rel, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPrepare: which directories the demo writes to, and what --fresh
// removes.
func TestPrepare(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	const part = "year=2026/month=11/day=20/hour=08/"
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		fresh   bool
		refused bool
		left    []string // files under dir afterwards, besides the marker
	}{
		{"absent", func(t *testing.T, dir string) { os.Remove(dir) }, false, false, nil},
		{"empty", func(t *testing.T, dir string) {}, false, false, nil},
		{"someone's lake", func(t *testing.T, dir string) { put(t, dir, part+"b-1.parquet", "x") }, false, true, []string{part + "b-1.parquet"}},
		{"someone's lake, fresh", func(t *testing.T, dir string) { put(t, dir, part+"b-1.parquet", "x") }, true, true, []string{part + "b-1.parquet"}},
		{"demo lake", func(t *testing.T, dir string) {
			put(t, dir, part+"b-1.parquet", "x")
			writeMarker(dir, now)
		}, false, false, []string{part + "b-1.parquet"}},
		{"demo lake, fresh", func(t *testing.T, dir string) {
			put(t, dir, part+"b-1.parquet", "x")
			writeMarker(dir, now)
		}, true, false, nil},
		{"demo lake with a file added, fresh", func(t *testing.T, dir string) {
			put(t, dir, part+"b-1.parquet", "x")
			writeMarker(dir, now)
			put(t, dir, part+"b-mine.parquet", "y")
		}, true, true, []string{part + "b-1.parquet", part + "b-mine.parquet"}},
		{"demo lake with a file rewritten, fresh", func(t *testing.T, dir string) {
			put(t, dir, part+"b-1.parquet", "x")
			writeMarker(dir, now)
			put(t, dir, part+"b-1.parquet", "longer")
		}, true, true, []string{part + "b-1.parquet"}},
		{"a forged marker", func(t *testing.T, dir string) {
			put(t, dir, part+"b-1.parquet", "x")
			put(t, dir, Marker, "hello")
		}, true, true, []string{part + "b-1.parquet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lake")
			os.MkdirAll(dir, 0o755)
			tt.setup(t, dir)
			err := prepare(dir, tt.fresh, now)
			if got := errors.Is(err, ErrNotDemoLake); got != tt.refused || err != nil && !tt.refused {
				t.Fatalf("prepare: %v, want refused=%v", err, tt.refused)
			}
			files, lerr := listFiles(dir)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if len(files) != len(tt.left) {
				t.Errorf("left %v, want %v", files, tt.left)
			}
			for _, f := range tt.left {
				if _, ok := files[f]; !ok {
					t.Errorf("%s removed", f)
				}
			}
			if _, merr := os.Stat(filepath.Join(dir, Marker)); !tt.refused && merr != nil {
				t.Errorf("no marker after prepare: %v", merr)
			}
		})
	}
}
