package lakescan

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// compactingRecorder is a recorder that runs compact before its first
// batch.
type compactingRecorder struct {
	recorder
	compact func() error
}

func (r *compactingRecorder) Process(ctx context.Context, id string, rec arrow.RecordBatch) ([]detect.Alert, error) {
	if err := r.compact(); err != nil {
		return nil, err
	}
	return r.recorder.Process(ctx, id, rec)
}

// TestRunAcrossCompaction: a compaction that deletes the objects Run
// listed, right after each partition's listing or while the detectors
// work, does not fail the scan, and the detectors see every record once
// (the starts written, as a multiset). Old code failed with "does not
// exist" (the "after listing" cases always).
func TestRunAcrossCompaction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		atListing bool
		workers   int
	}{
		{"after listing, 1 worker", true, 1},
		{"after listing, 3 workers", true, 3},
		{"while detecting, 1 worker", false, 1},
		{"while detecting, 3 workers", false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			lake, err := store.Open(ctx, filepath.Join(t.TempDir(), "lake"), store.Options{Create: true})
			if err != nil {
				t.Fatal(err)
			}
			// Each hour: a merged file of two batches, and a third batch,
			// so the compaction merges a merged file again.
			var want []int64
			var late []arrow.RecordBatch
			for _, h := range []int{8, 9, 10, 11} {
				text, starts := hourText(h, 60)
				want = append(want, starts...)
				recs, err := parse.NewBytesReader([]byte(text), parse.Options{BatchSize: 20}).ReadAll()
				if err != nil || len(recs) != 3 {
					t.Fatalf("%d batches, %v", len(recs), err)
				}
				for i, rec := range recs[:2] {
					if _, err := lake.Write(ctx, fmt.Sprint(h, "#", i), []arrow.RecordBatch{rec}); err != nil {
						t.Fatal(err)
					}
					rec.Release()
				}
				late = append(late, recs[2])
			}
			if _, err := lake.Compact(ctx, store.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			for i, rec := range late {
				if _, err := lake.Write(ctx, fmt.Sprint("late#", i), []arrow.RecordBatch{rec}); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			var once sync.Once
			var merged int
			compact := func() (err error) {
				once.Do(func() {
					var res store.CompactResult
					res, err = lake.Compact(ctx, store.CompactOptions{})
					merged = res.Merged
				})
				return err
			}
			strs, ints := detect.Columns()
			read := store.ScanOptions{Columns: append(strs, ints...), Dictionaries: true}
			r := &compactingRecorder{compact: func() error { return nil }}
			if tc.atListing {
				read.Listed = func([]store.Object) error { return compact() }
			} else {
				r.compact = compact
			}
			send := func(context.Context, []detect.Alert) error { return nil }
			if _, err := run(ctx, lake, store.TimeRange{}, r, send, Options{Workers: tc.workers}, read); err != nil {
				t.Fatalf("run across a compaction: %v", err)
			}
			if merged != 8 {
				t.Errorf("the compaction merged %d files, want 8", merged)
			}
			got := slices.Clone(r.starts)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("detectors saw %d records, want the %d written, once each", len(got), len(want))
			}
		})
	}
}
