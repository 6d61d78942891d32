package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// flowqRows counts what flowq's readers count (Scan, over Objects).
func flowqRows(t testing.TB, l *Lake) int64 {
	t.Helper()
	var n int64
	if err := l.Scan(context.Background(), nil, func(rec arrow.RecordBatch) error {
		n += rec.NumRows()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// athenaFiles returns what Athena reads from a local lake: every file in a
// year=/month=/day=/hour= directory whose name starts with neither _ nor
// "." (its rule for hidden files). Plain DuckDB over the README's glob
// reads the subset ending in .parquet; the test fails if the two differ.
func athenaFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), "_") || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if _, ok := parsePartition(filepath.ToSlash(filepath.Dir(rel))); !ok {
			return nil
		}
		if strings.HasPrefix(d.Name(), "_") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".parquet") {
			t.Errorf("%s: not a flow-log Parquet file where Athena reads", rel)
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// plainRows counts the rows of the Athena file set with ReadParquet, the
// way a reader that knows nothing of manifests does.
func plainRows(t testing.TB, root string) int64 {
	t.Helper()
	var n int64
	for _, p := range athenaFiles(t, root) {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		err = ReadParquet(context.Background(), f, nil, func(rec arrow.RecordBatch) error {
			n += rec.NumRows()
			return nil
		})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	return n
}

// crashLake returns a lake holding a merged file and two newer batch files
// in every partition of the text (so the next compaction merges a merged
// file again), and the number of records.
func crashLake(t *testing.T) (*Lake, []arrow.RecordBatch, int64) {
	t.Helper()
	ctx := context.Background()
	mem := checkedMem(t)
	l, err := Open(ctx, t.TempDir(), Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	text := hourText(120) // two partitions: a merged file and batches in each
	text = text[bytes.IndexByte(text, '\n')+1:]
	recs := parseText(t, mem, text, 40)
	t.Cleanup(func() { release(recs) })
	for i := range 2 {
		if _, err := l.Write(ctx, fmt.Sprintf("g/s/%d", i), recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 4; i++ {
		if _, err := l.Write(ctx, fmt.Sprintf("g/s/%d", i), recs); err != nil {
			t.Fatal(err)
		}
	}
	return l, recs, 4 * textTotals(text).Rows
}

var errCrash = errors.New("crash")

// TestCompactCrashAtEveryStep stops a compaction (one that merges a merged
// file again) after each of its steps. Right after the crash flowq's
// readers count every record once; after the next Compact (the recovery)
// so do readers of the Athena file set and of the README's glob, and
// nothing but Parquet is left in the partitions. Old code: a merged file
// merged again was not named in the new manifest, so a crash after the
// merged file was written counted its rows twice, for good.
func TestCompactCrashAtEveryStep(t *testing.T) {
	steps := []string{StepManifest, StepMerged, StepMarkers, StepInputs, StepCleanup}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			l, _, want := crashLake(t)
			hook := func(s string) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			if _, err := l.Compact(ctx, CompactOptions{Hook: hook}); !errors.Is(err, errCrash) {
				t.Fatalf("compact: %v, want the crash", err)
			}
			if got := flowqRows(t, l); got != want {
				t.Errorf("after the crash flowq counts %d, want %d", got, want)
			}
			plain := plainRows(t, l.Local())
			switch step {
			case StepManifest, StepCleanup, StepInputs:
				if plain != want {
					t.Errorf("after the crash plain readers count %d, want %d", plain, want)
				}
			default: // the documented window: both copies until recovery
				t.Logf("after the crash plain readers count %d (%d records)", plain, want)
			}
			if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := flowqRows(t, l); got != want {
				t.Errorf("after recovery flowq counts %d, want %d", got, want)
			}
			if got := plainRows(t, l.Local()); got != want {
				t.Errorf("after recovery plain readers count %d, want %d", got, want)
			}
			objs, _ := l.Objects(ctx, nil)
			if files := athenaFiles(t, l.Local()); len(files) != len(objs) {
				t.Errorf("after recovery %d files where Athena reads, flowq reads %d", len(files), len(objs))
			}
		})
	}
}

// TestRetryOfCompactedBatch writes a batch again after compaction merged
// it (a Lambda retry, or the same batch id from two invocations): no
// reader counts it twice. Old code left the rewritten file beside the
// merged one, which plain DuckDB and Athena counted twice.
func TestRetryOfCompactedBatch(t *testing.T) {
	ctx := context.Background()
	l, recs, want := crashLake(t)
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	// A retry puts nothing at all: a copy put and then removed would be
	// counted twice by a reader listing in between (flowq too, once the
	// merged file is merged again and its manifest gone).
	puts := &putRecorder{backend: l.be}
	l.be = puts
	for _, id := range []string{"g/s/0", "g/s/3"} { // merged once, merged twice
		res, err := l.Write(ctx, id, recs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects) != 0 || res.Merged == 0 {
			t.Errorf("retry of %s kept %v (merged %d)", id, res.Objects, res.Merged)
		}
	}
	if len(puts.keys) > 0 {
		t.Errorf("retries of merged batches put %v", puts.keys)
	}
	l.be = puts.backend
	if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != want || plain != want {
		t.Errorf("after retries flowq counts %d, plain readers %d; want %d", got, plain, want)
	}
	// Compacting again changes nothing.
	res, err := l.Compact(ctx, CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Merged != 0 {
		t.Errorf("second compaction merged %d files", res.Merged)
	}
	if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != want || plain != want {
		t.Errorf("after compacting twice flowq counts %d, plain readers %d; want %d", got, plain, want)
	}
}

// TestRetryDuringCompaction interleaves a retry with each step of a
// compaction: the retry's put lands after the step. Whatever the order,
// after the compaction finishes every reader counts every record once.
func TestRetryDuringCompaction(t *testing.T) {
	for _, step := range []string{StepManifest, StepMerged, StepMarkers, StepInputs} {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			l, recs, want := crashLake(t)
			hook := func(s string) error {
				if s == step {
					_, err := l.Write(ctx, "g/s/2", recs)
					return err
				}
				return nil
			}
			if _, err := l.Compact(ctx, CompactOptions{Hook: hook}); err != nil {
				t.Fatal(err)
			}
			if got := flowqRows(t, l); got != want {
				t.Errorf("flowq counts %d, want %d", got, want)
			}
			if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if got, plain := flowqRows(t, l), plainRows(t, l.Local()); got != want || plain != want {
				t.Errorf("after the next compaction flowq counts %d, plain readers %d; want %d", got, plain, want)
			}
		})
	}
}

// TestNothingButParquetInPartitions: manifests and markers live under
// _flowq/. Old code put c-<id>.json beside the merged file, which Athena
// reads (and fails on).
func TestNothingButParquetInPartitions(t *testing.T) {
	l, _, want := crashLake(t)
	if _, err := l.Compact(context.Background(), CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	athenaFiles(t, l.Local()) // fails on anything else
	if _, err := os.Stat(filepath.Join(l.Local(), "_flowq", "compact")); err != nil {
		t.Errorf("no manifests under _flowq/compact: %v", err)
	}
	if got := plainRows(t, l.Local()); got != want {
		t.Errorf("plain readers count %d, want %d", got, want)
	}
}

// TestLegacyManifestMovesOut: a lake compacted by an older flowq has
// c-<id>.json in its partitions; the next Compact moves it out, and the
// merged file's inputs stay hidden meanwhile.
func TestLegacyManifestMovesOut(t *testing.T) {
	ctx := context.Background()
	l, _, want := crashLake(t)
	// Move every manifest back beside its merged file, as flowq did before.
	root := l.Local()
	mdir := filepath.Join(root, "_flowq", "compact")
	filepath.WalkDir(mdir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(mdir, p)
		return os.Rename(p, filepath.Join(root, rel))
	})
	if got := flowqRows(t, l); got != want {
		t.Errorf("legacy layout: flowq counts %d, want %d", got, want)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	athenaFiles(t, root)
	if got, plain := flowqRows(t, l), plainRows(t, root); got != want || plain != want {
		t.Errorf("flowq counts %d, plain readers %d; want %d", got, plain, want)
	}
}

// TestMarkersExpire: markers of merged batches are deleted once older than
// MarkerTTL, so they do not pile up under _flowq/.
func TestMarkersExpire(t *testing.T) {
	ctx := context.Background()
	l, _, _ := crashLake(t)
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(l.Local(), "_flowq", "compacted")
	var markers []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			markers = append(markers, p)
		}
		return nil
	})
	if len(markers) == 0 {
		t.Fatal("no markers: the test does not test")
	}
	old := time.Now().Add(-2 * DefaultMarkerTTL)
	for _, p := range markers[1:] {
		os.Chtimes(p, old, old)
	}
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, p := range markers {
		if _, err := os.Stat(p); (err == nil) != (i == 0) {
			t.Errorf("%s: %v (young: %v)", p, err, i == 0)
		}
	}
}

// TestSourcesOfOldFiles: files written before flowq kept provenance (no
// footer entry) are listed as one source of kind "unknown", so the
// sources always add up to the lake.
func TestSourcesOfOldFiles(t *testing.T) {
	ctx := context.Background()
	l, recs, _ := crashLake(t)
	// An old file: the same rows, written without the footer entry.
	rec, err := l.groupRecord(recs[0].Schema(), recs[:1], true)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = l.writeParquet(&buf, rec.Schema(), func(w *pqarrow.FileWriter) error { return w.Write(rec) })
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	part := PartitionOf(t0.Unix())
	if err := l.be.put(ctx, keyJoin(part, "b-old.parquet"), buf.Bytes(), false); err != nil {
		t.Fatal(err)
	}
	srcs, err := l.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sum, unknown int64
	for _, s := range srcs {
		sum += s.Records
		if s.Kind == "unknown" {
			unknown += s.Records
		}
	}
	if lake := flowqRows(t, l); sum != lake || unknown != recs[0].NumRows() {
		t.Errorf("sources sum to %d (%d unknown), the lake holds %d", sum, unknown, lake)
	}
}

// TestListPrefixes: listing the partitions does not walk _flowq/ (source
// records and markers can be many), and a key prefix that is not a
// directory selects by prefix.
func TestListPrefixes(t *testing.T) {
	ctx := context.Background()
	l, _, _ := crashLake(t)
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string]string{partitionPrefix: partitionPrefix, manifestDir: manifestDir, markerDir + "year=2026/month=11/day=20/hour=00/b-": markerDir} {
		infos, err := l.be.list(ctx, prefix)
		if err != nil || len(infos) == 0 {
			t.Fatalf("list(%q) = %v, %v", prefix, infos, err)
		}
		for _, in := range infos {
			if !strings.HasPrefix(in.key, want) || !strings.HasPrefix(in.key, prefix) {
				t.Errorf("list(%q) has %s", prefix, in.key)
			}
		}
	}
}

// putRecorder records the keys put through a backend.
type putRecorder struct {
	backend
	keys []string
}

func (r *putRecorder) put(ctx context.Context, key string, data []byte, ifAbsent bool) error {
	r.keys = append(r.keys, key)
	return r.backend.put(ctx, key, data, ifAbsent)
}
