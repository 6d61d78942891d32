package lakedb

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowq/flowq/internal/store"
)

// TestPinLinksOrCopies: a file on the pin's file system is linked (the
// same inode), one on another file system is copied, and a file that is
// gone is store.ErrNotExist.
func TestPinLinksOrCopies(t *testing.T) {
	p, err := newPin(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.remove()
	same := filepath.Join(t.TempDir(), "a.parquet")
	if err := os.WriteFile(same, []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := p.add(same, "year=2026/month=11/day=20/hour=08/a.parquet")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(same)
	b, _ := os.Stat(got)
	if !os.SameFile(a, b) || p.copied != 0 {
		t.Errorf("%s: not a link to %s (copied %d)", got, same, p.copied)
	}
	if _, err := p.add(filepath.Join(t.TempDir(), "gone.parquet"), "year=2026/gone.parquet"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("a file that is gone: %v, want ErrNotExist", err)
	}
	other, err := os.MkdirTemp("/dev/shm", "pin-test-")
	if err != nil {
		t.Skipf("no /dev/shm to test copies across file systems: %v", err)
	}
	defer os.RemoveAll(other)
	src := filepath.Join(other, "b.parquet")
	if err := os.WriteFile(src, []byte("other file system"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = p.add(src, "year=2026/month=11/day=20/hour=09/b.parquet")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(got)
	if string(data) != "other file system" || err != nil {
		t.Errorf("copy %q, %v", data, err)
	}
	a, _ = os.Stat(src)
	b, _ = os.Stat(got)
	if os.SameFile(a, b) {
		t.Logf("/dev/shm is on the same file system: linked, not copied")
	} else if p.copied != 1 || p.bytes != int64(len(data)) {
		t.Errorf("copied %d files, %d bytes; want 1, %d", p.copied, p.bytes, len(data))
	}
}
