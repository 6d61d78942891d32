package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// raceLake fills l as crashLake does (a merged file and two newer batch
// files in each of two partitions, so a compaction merges a merged file
// again) and returns the totals of the text it wrote, summed without the
// parser.
func raceLake(t *testing.T, l *Lake) totals {
	t.Helper()
	ctx := context.Background()
	text := hourText(120)
	text = text[bytes.IndexByte(text, '\n')+1:]
	recs := parseText(t, l.mem, text, 40)
	defer release(recs)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := l.Write(ctx, fmt.Sprintf("g/s/%d", i), recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 2)
	if _, err := l.Compact(ctx, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	write(2, 4)
	per := textTotals(text)
	return totals{Rows: 4 * per.Rows, Bytes: 4 * per.Bytes, Parts: per.Parts}
}

// scanTotals sums what ScanWith gives (rows, the bytes column, partitions
// seen), calling during with the number of each batch before summing it.
func scanTotals(l *Lake, opts ScanOptions, during func(batch int) error) (totals, error) {
	var tot totals
	parts := map[int64]bool{}
	batch := 0
	err := l.ScanWith(context.Background(), opts, func(rec arrow.RecordBatch) error {
		batch++
		if err := during(batch); err != nil {
			return err
		}
		tot.Rows += rec.NumRows()
		b := rec.Column(rec.Schema().FieldIndices(parse.ColBytes)[0]).(*array.Int64)
		st := rec.Column(rec.Schema().FieldIndices(parse.ColStart)[0]).(*array.Int64)
		for j := range b.Len() {
			if b.IsValid(j) {
				tot.Bytes += b.Value(j)
			}
			parts[PartitionOf(st.Value(j)).Time().Unix()] = true
		}
		return nil
	})
	tot.Parts = len(parts)
	return tot, err
}

// scanRaces are the moments a compaction runs during a scan: after the
// scan's listing (Listed) or while it reads its first object (first
// batch), completing or crashing at a step and then completed by the next
// Compact (an interrupted compaction finished later).
type scanRace struct {
	name     string
	atList   bool   // compact in Listed, before any read
	crashAt  string // the step the first compaction stops at ("": none)
	atBatch  int    // compact when fn gets this batch (atList false)
	compacts int    // compactions run (the first may crash)
}

func scanRaces() []scanRace {
	races := []scanRace{
		{name: "after listing", atList: true, compacts: 1},
		{name: "first batch", atBatch: 1, compacts: 1},
		{name: "second batch", atBatch: 2, compacts: 1},
	}
	for _, step := range []string{StepManifest, StepMerged, StepMarkers, StepInputs, StepCleanup} {
		races = append(races, scanRace{name: "crash at " + step + " then recover", atBatch: 1, crashAt: step, compacts: 2})
	}
	return races
}

// compactDuring runs r's compactions once, when r says.
func compactDuring(t *testing.T, l *Lake, r scanRace) (ScanOptions, func(int) error) {
	done := false
	run := func() error {
		if done {
			return nil
		}
		done = true
		for i := range r.compacts {
			opts := CompactOptions{}
			if i == 0 && r.crashAt != "" {
				opts.Hook = func(s string) error {
					if s == r.crashAt {
						return errCrash
					}
					return nil
				}
			}
			res, err := l.Compact(context.Background(), opts)
			if err != nil && !errors.Is(err, errCrash) {
				return err
			}
			t.Logf("compaction %d: merged %d files, %v", i+1, res.Merged, err)
		}
		return nil
	}
	var opts ScanOptions
	if r.atList {
		opts.Listed = func([]Object) error { return run() }
	}
	return opts, func(batch int) error {
		if !r.atList && batch == r.atBatch {
			return run()
		}
		return nil
	}
}

// TestScanAcrossCompaction runs a compaction that deletes the objects a
// scan listed, at several moments of the scan: the scan gives every record
// once (count, bytes and partitions against the text) without error. Old
// code failed with "does not exist" on the first listed object the
// compaction had deleted.
func TestScanAcrossCompaction(t *testing.T) {
	for _, r := range scanRaces() {
		t.Run(r.name, func(t *testing.T) {
			l, err := Open(context.Background(), t.TempDir(), Options{Allocator: checkedMem(t)})
			if err != nil {
				t.Fatal(err)
			}
			want := raceLake(t, l)
			opts, during := compactDuring(t, l, r)
			got, err := scanTotals(l, opts, during)
			if err != nil {
				t.Fatalf("scan across a compaction: %v", err)
			}
			if got != want {
				t.Errorf("scan across a compaction gave %+v, want %+v", got, want)
			}
			if got, _ := scanTotals(l, ScanOptions{}, func(int) error { return nil }); got != want {
				t.Errorf("scan after the compaction gave %+v, want %+v", got, want)
			}
		})
	}
}

// TestScanAcrossCompactionS3 is TestScanAcrossCompaction on an s3:// lake
// (moto), where a deleted object is S3's NoSuchKey.
func TestScanAcrossCompactionS3(t *testing.T) {
	srv := motoserver.Start(t)
	ctx := context.Background()
	client := s3.NewFromConfig(srv.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	for i, r := range scanRaces()[:3] {
		t.Run(r.name, func(t *testing.T) {
			bucket := fmt.Sprintf("lake-%d", i)
			if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatal(err)
			}
			l, err := Open(ctx, "s3://"+bucket+"/flows", Options{S3: client, Allocator: checkedMem(t)})
			if err != nil {
				t.Fatal(err)
			}
			want := raceLake(t, l)
			opts, during := compactDuring(t, l, r)
			got, err := scanTotals(l, opts, during)
			if err != nil {
				t.Fatalf("scan across a compaction: %v", err)
			}
			if got != want {
				t.Errorf("scan across a compaction gave %+v, want %+v", got, want)
			}
		})
	}
}

// TestScanGivesUp: when every listing's objects are gone before they are
// read, ScanWith stops after MaxListings listings with ErrLakeChanging.
func TestScanGivesUp(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir(), Options{Allocator: checkedMem(t)})
	if err != nil {
		t.Fatal(err)
	}
	raceLake(t, l)
	recs := parseText(t, l.mem, hourText(10), 10)
	defer release(recs)
	listings := 0
	opts := ScanOptions{Listed: func(objs []Object) error {
		listings++
		// Every listed object vanishes, as if merged away each time, and
		// a new one arrives.
		var keys []string
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		if err := l.be.remove(ctx, keys); err != nil {
			return err
		}
		_, err := l.Write(ctx, fmt.Sprintf("g/new/%d", listings), recs)
		return err
	}}
	_, err = scanTotals(l, opts, func(int) error { return nil })
	if !errors.Is(err, ErrLakeChanging) || listings != MaxListings {
		t.Errorf("after %d listings: %v, want ErrLakeChanging after %d", listings, err, MaxListings)
	}
}

// TestScanWhileCompacting races a real compaction, partition after
// partition, against a scan of the whole lake (no hooks: whatever the
// interleaving), a few times in each direction: the scan gives every
// record once. Run it with -race.
func TestScanWhileCompacting(t *testing.T) {
	ctx := context.Background()
	text := synth.Text(5, parse.DefaultFormat(), t0, 4800, false)
	want := textTotals(text)
	for round := range 4 {
		l, err := Open(ctx, t.TempDir(), Options{Allocator: checkedMem(t)})
		if err != nil {
			t.Fatal(err)
		}
		recs := parseText(t, l.mem, text, 300) // batches of ~1.5 h: several files per partition
		for i, rec := range recs {
			if _, err := l.Write(ctx, fmt.Sprint("g/s/", i), []arrow.RecordBatch{rec}); err != nil {
				t.Fatal(err)
			}
		}
		release(recs)
		objs, err := l.Objects(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var parts []Partition
		for _, o := range objs {
			if len(parts) == 0 || parts[len(parts)-1] != o.Partition {
				parts = append(parts, o.Partition)
			}
		}
		if round%2 == 1 {
			slices.Reverse(parts)
		}
		done := make(chan error, 1)
		go func() {
			var err error
			for _, p := range parts {
				if _, err = l.Compact(ctx, CompactOptions{Filter: func(q Partition) bool { return q == p }}); err != nil {
					break
				}
			}
			done <- err
		}()
		listings := 0
		got, err := scanTotals(l, ScanOptions{Listed: func([]Object) error { listings++; return nil }}, func(int) error { return nil })
		t.Logf("round %d: %d partitions, the scan listed %d times", round, len(parts), listings)
		if cerr := <-done; cerr != nil {
			t.Fatal(cerr)
		}
		if err != nil {
			t.Fatalf("round %d: scan while compacting: %v", round, err)
		}
		if got != want {
			t.Errorf("round %d: scan while compacting gave %+v, want %+v", round, got, want)
		}
		if n, _ := l.Objects(ctx, nil); len(n) != want.Parts {
			t.Errorf("round %d: %d objects after the compactions, want one per partition (%d)", round, len(n), want.Parts)
		}
	}
}
