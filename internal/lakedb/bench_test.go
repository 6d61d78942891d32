package lakedb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// BenchmarkOpen measures a session over a local lake of many small
// objects (a day of 240,000 records in batches of 1,000, as an
// uncompacted Lambda lake holds: ~250 files in 24 partitions), where what
// Open does per file (links it into the session) weighs most. The
// reference beside it is the listing Open starts with; "open+sum" also
// reads every record once. b.SetBytes is the lake's Parquet bytes.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	lake, err := store.Open(ctx, filepath.Join(b.TempDir(), "lake"), store.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	text := synth.Text(7, parse.DefaultFormat(), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), 240_000, false)
	r := parse.NewBytesReader(text, parse.Options{BatchSize: 1000})
	for i := 0; r.Next(); i++ {
		rec := r.RecordBatch()
		if _, err := lake.Write(ctx, fmt.Sprint("bench-", i), []arrow.RecordBatch{rec}); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	r.Release()
	objs, err := lake.Objects(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, o := range objs {
		size += o.Size
	}
	b.Logf("%d objects, %d bytes", len(objs), size)
	b.Run("reference=list", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := lake.Objects(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			d, err := lakedb.Open(ctx, lake, store.TimeRange{}, lakedb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			d.Close()
		}
	})
	b.Run("open+sum", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			d, err := lakedb.Open(ctx, lake, store.TimeRange{}, lakedb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var n, sum int64
			if err := d.SQL().QueryRowContext(ctx, "SELECT count(*), sum(bytes)::BIGINT FROM flows").Scan(&n, &sum); err != nil || n != 240_000 {
				b.Fatalf("%d records, %v", n, err)
			}
			d.Close()
		}
	})
}
