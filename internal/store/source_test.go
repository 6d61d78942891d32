package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// ingest stores recs as one source, staging a chunk every chunk records.
func ingest(t *testing.T, l *Lake, info SourceInfo, recs []arrow.RecordBatch, chunk int64) (Source, error) {
	t.Helper()
	ctx := context.Background()
	w, err := l.Begin(ctx, info)
	if err != nil {
		return Source{}, err
	}
	if chunk > 0 {
		w.chunk = chunk
	}
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			w.Abort(ctx)
			return Source{}, err
		}
	}
	return w.Commit(ctx)
}

// stagedFiles lists the files under _flowq/staging.
func stagedFiles(t *testing.T, root string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(root, "_flowq", "staging"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func sourceText(t *testing.T, seed uint64, n int) ([]arrow.RecordBatch, totals) {
	mem := checkedMem(t)
	text := synth.Text(seed, parse.DefaultFormat(), t0, n, false)
	recs := parseText(t, mem, text, 50)
	t.Cleanup(func() { release(recs) })
	return recs, textTotals(text)
}

// TestSourceExactlyOnce: the same source committed again is refused and
// nothing is written; the same ID with another digest (a corrected
// re-download of an AWS object) replaces the first version. Old code keyed
// objects by path and content, so a copy of a file or a re-download was
// stored twice.
func TestSourceExactlyOnce(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, tot := sourceText(t, 5, 200)
	info := SourceInfo{ID: "123456789012_vpcflowlogs_us-east-1_fl-1_20261120T0000Z_abcd.log.gz", Name: "/data/a.log.gz", Kind: "file", Digest: "sha256:one"}
	src, err := ingest(t, l, info, recs, 64)
	if err != nil {
		t.Fatal(err)
	}
	if src.Records != tot.Rows || src.First.IsZero() || src.Last.Before(src.First) {
		t.Errorf("committed %+v, want %d records", src, tot.Rows)
	}
	// The same file from another path; the same content without a digest.
	for _, again := range []SourceInfo{{ID: info.ID, Name: "/copy/a.log.gz", Kind: "file", Digest: info.Digest}, {ID: info.ID, Name: "x"}} {
		if _, err := l.Begin(ctx, again); !errors.Is(err, ErrSourceExists) {
			t.Errorf("Begin(%s) = %v, want ErrSourceExists", again.Name, err)
		}
	}
	if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != tot.Rows || plain != tot.Rows {
		t.Errorf("after re-ingest flowq counts %d, plain %d; want %d", got, plain, tot.Rows)
	}
	// A corrected re-download: same object name, other content.
	fixed, tot2 := sourceText(t, 6, 150)
	info.Digest = "sha256:two"
	if _, err := ingest(t, l, info, fixed, 64); err != nil {
		t.Fatal(err)
	}
	if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != tot2.Rows || plain != tot2.Rows {
		t.Errorf("after the corrected copy flowq counts %d, plain %d; want %d", got, plain, tot2.Rows)
	}
	srcs, err := l.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 1 || srcs[0].Records != tot2.Rows || srcs[0].Digest != "sha256:two" {
		t.Errorf("sources = %+v", srcs)
	}
	if len(stagedFiles(t, l.Local())) != 0 {
		t.Errorf("staging left behind: %v", stagedFiles(t, l.Local()))
	}
	if _, err := os.Stat(filepath.Join(l.Local(), pendingDir)); err == nil {
		t.Error("pending markers left behind")
	}
}

// TestSourceInvisibleUntilCommit: chunks staged before Commit are seen by
// no reader; Abort, or a crash before Commit, leaves nothing counted, and
// the next Compact deletes a crashed writer's chunks once they are old.
func TestSourceInvisibleUntilCommit(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := sourceText(t, 7, 300)
	for _, end := range []string{"abort", "crash"} {
		w, err := l.Begin(ctx, SourceInfo{ID: end, Name: end})
		if err != nil {
			t.Fatal(err)
		}
		w.chunk = 50
		for _, r := range recs {
			if err := w.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if len(stagedFiles(t, root)) == 0 {
			t.Fatal("nothing staged: the test does not test")
		}
		for _, p := range stagedFiles(t, root) {
			if strings.HasSuffix(p, ".parquet") {
				t.Errorf("staged under a Parquet name: %s", p)
			}
		}
		if got, plain := flowqRows(t, l), plainRows(t, root); got != 0 || plain != 0 {
			t.Errorf("%s: before Commit flowq counts %d, plain %d", end, got, plain)
		}
		if end == "abort" {
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			if s := stagedFiles(t, root); len(s) != 0 {
				t.Errorf("abort left %v", s)
			}
		}
	}
	// The crashed writer's chunks: kept while young, deleted when stale.
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	staged := stagedFiles(t, root)
	if len(staged) == 0 {
		t.Fatal("young staged chunks deleted")
	}
	old := time.Now().Add(-2 * staleAge)
	for _, p := range staged {
		os.Chtimes(p, old, old)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := stagedFiles(t, root); len(s) != 0 {
		t.Errorf("stale chunks left: %v", s)
	}
	if srcs, _ := l.Sources(ctx); len(srcs) != 0 {
		t.Errorf("sources after abort and crash: %+v", srcs)
	}
}

// TestCommitCrash stops Commit after its record is written and one chunk
// moved: the next Compact (or Begin of the source, or Sources) finishes
// it, and then every reader counts every record once.
func TestCommitCrash(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, tot := sourceText(t, 8, 300)
	w, err := l.Begin(ctx, SourceInfo{ID: "s", Name: "s"})
	if err != nil {
		t.Fatal(err)
	}
	w.chunk = 50
	for _, r := range recs {
		if err := w.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec := &sourceRecord{Source: w.src, State: stateCommitting, Tx: w.tx, Files: w.files}
	if err := l.be.put(ctx, pendingKey("s"), nil, false); err != nil {
		t.Fatal(err)
	}
	if err := l.putSourceRecord(ctx, rec, true); err != nil {
		t.Fatal(err)
	}
	if err := l.be.move(ctx, w.files[0].Staged, w.files[0].Key); err != nil {
		t.Fatal(err)
	}
	// Crash. The next Compact finishes the commit (found by its pending
	// marker, without reading every source record).
	if _, err := l.Compact(ctx, CompactOptions{MinFiles: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if r, err := l.sourceRecord(ctx, "s"); err != nil || r.State != stateCommitted {
		t.Fatalf("after Compact: %+v, %v", r, err)
	}
	if s := stagedFiles(t, root); len(s) != 0 {
		t.Errorf("staged chunks left: %v", s)
	}
	// Another ingest of the same source is refused.
	if _, err := l.Begin(ctx, SourceInfo{ID: "s", Name: "again"}); !errors.Is(err, ErrSourceExists) {
		t.Errorf("Begin after a crashed commit: %v", err)
	}
	if got, plain := flowqRows(t, l), plainRows(t, root); got != tot.Rows || plain != tot.Rows {
		t.Errorf("after recovery flowq counts %d, plain %d; want %d", got, plain, tot.Rows)
	}
	srcs, err := l.Sources(ctx)
	if err != nil || len(srcs) != 1 || srcs[0].Records != tot.Rows {
		t.Errorf("sources = %+v, %v", srcs, err)
	}
}

// TestRemoveSourceAfterCompaction removes one source whose records a
// compaction merged with another source's and with Lambda batches: exactly
// its records go, from flowq's count and from plain readers'.
func TestRemoveSourceAfterCompaction(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, totA := sourceText(t, 21, 200)
	b, totB := sourceText(t, 22, 150)
	c, totC := sourceText(t, 23, 100)
	if _, err := ingest(t, l, SourceInfo{ID: "a", Name: "a.log", Kind: "file"}, a, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, l, SourceInfo{ID: "b", Name: "b.log", Kind: "file"}, b, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(ctx, "group/stream/1", c); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, _ := l.Objects(ctx, nil)
	for _, o := range objs {
		if !o.Compacted {
			t.Fatalf("%s not merged: the test does not test", o.Key)
		}
	}
	srcs, err := l.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range srcs {
		got[s.ID] = s.Records
	}
	if got["a"] != totA.Rows || got["b"] != totB.Rows || got["group/stream/1"] != totC.Rows || len(got) != 3 {
		t.Errorf("sources = %v", got)
	}
	removed, err := l.RemoveSource(ctx, "a")
	if err != nil || removed.Records != totA.Rows {
		t.Fatalf("RemoveSource(a) = %+v, %v; want %d records", removed, err, totA.Rows)
	}
	want := totB.Rows + totC.Rows
	if n, plain := flowqRows(t, l), plainRows(t, root); n != want || plain != want {
		t.Errorf("after rm flowq counts %d, plain %d; want %d", n, plain, want)
	}
	// A Lambda batch is a source too.
	if removed, err := l.RemoveSource(ctx, "group/stream/1"); err != nil || removed.Records != totC.Rows {
		t.Fatalf("RemoveSource(batch) = %+v, %v", removed, err)
	}
	if n, plain := flowqRows(t, l), plainRows(t, root); n != totB.Rows || plain != totB.Rows {
		t.Errorf("after rm of the batch flowq counts %d, plain %d; want %d", n, plain, totB.Rows)
	}
	if _, err := l.RemoveSource(ctx, "a"); !errors.Is(err, ErrNotExist) {
		t.Errorf("second rm: %v, want ErrNotExist", err)
	}
	// Compacting again keeps the count.
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, plain := flowqRows(t, l), plainRows(t, root); n != totB.Rows || plain != totB.Rows {
		t.Errorf("after compaction flowq counts %d, plain %d; want %d", n, plain, totB.Rows)
	}
}

func TestMeta(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetMeta(ctx, "inventory/a.json"); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	for _, n := range []string{"inventory/b.json", "inventory/a.json", "other.json"} {
		if err := l.PutMeta(ctx, n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := l.GetMeta(ctx, "inventory/a.json"); string(got) != "inventory/a.json" {
		t.Errorf("GetMeta = %q", got)
	}
	names, err := l.ListMeta(ctx, "inventory/")
	if err != nil || strings.Join(names, ",") != "inventory/a.json,inventory/b.json" {
		t.Errorf("ListMeta = %v, %v", names, err)
	}
	for _, bad := range []string{"", "../x", "/abs", "a/../b", "dir/"} {
		if err := l.PutMeta(ctx, bad, nil); err == nil {
			t.Errorf("PutMeta(%q) accepted", bad)
		}
	}
	athenaFiles(t, root) // nothing in the partitions
	if got := flowqRows(t, l); got != 0 {
		t.Errorf("metadata counted as %d records", got)
	}
}

// TestRemoveSourceCrash stops `sources rm` after each step of its first
// rewrite of a merged file. Running it again finishes the removal, and
// then flowq and plain readers count exactly the other source.
func TestRemoveSourceCrash(t *testing.T) {
	for _, step := range []string{StepManifest, StepMerged, StepMarkers, StepInputs} {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			root := t.TempDir()
			l, err := Open(ctx, root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := sourceText(t, 51, 150)
			b, totB := sourceText(t, 52, 100)
			for id, recs := range map[string][]arrow.RecordBatch{"a": a, "b": b} {
				if _, err := ingest(t, l, SourceInfo{ID: id, Name: id}, recs, 0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			l.removeHook = func(s string) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			if _, err := l.RemoveSource(ctx, "a"); !errors.Is(err, errCrash) {
				t.Fatalf("rm: %v, want the crash", err)
			}
			l.removeHook = func(string) error { return nil }
			if _, err := l.RemoveSource(ctx, "a"); err != nil {
				t.Fatalf("rm again: %v", err)
			}
			if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if got, plain := flowqRows(t, l), plainRows(t, root); got != totB.Rows || plain != totB.Rows {
				t.Errorf("flowq counts %d, plain %d; want %d", got, plain, totB.Rows)
			}
		})
	}
}

// TestConcurrentCommits: two writers of the same source race to Commit;
// exactly one wins, the other gets ErrSourceExists and leaves nothing.
func TestConcurrentCommits(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, tot := sourceText(t, 53, 200)
	var ws []*SourceWriter
	for range 2 {
		w, err := l.Begin(ctx, SourceInfo{ID: "same", Name: "same"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := w.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		ws = append(ws, w)
	}
	if _, err := ws[0].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ws[1].Commit(ctx); !errors.Is(err, ErrSourceExists) {
		t.Errorf("second commit: %v, want ErrSourceExists", err)
	}
	if got, plain := flowqRows(t, l), plainRows(t, root); got != tot.Rows || plain != tot.Rows {
		t.Errorf("flowq counts %d, plain %d; want %d", got, plain, tot.Rows)
	}
	if s := stagedFiles(t, root); len(s) != 0 {
		t.Errorf("the loser left %v", s)
	}
}
