package report

import (
	"bytes"
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

// benchLake writes a day of the demo's traffic (400,000 records and the
// incidents) and the day before (100,000) into a new lake, in batches of
// 50,000 records as the pipeline would.
func benchLake(b *testing.B) (*store.Lake, int) {
	b.Helper()
	ctx := context.Background()
	lake, err := store.Open(ctx, filepath.Join(b.TempDir(), "lake"), store.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	for i, d := range []struct {
		start time.Time
		n     int
	}{{day, 400_000}, {day.Add(-24 * time.Hour), 100_000}} {
		text, _ := synth.Scenario(uint64(i+1), synth.DetectFormat, d.start, 24*time.Hour, d.n, d.start.Add(14*time.Hour))
		if i == 0 {
			size = len(text)
		}
		r := parse.NewBytesReader(text, parse.Options{BatchSize: 50_000})
		for j := 0; r.Next(); j++ {
			rec := r.RecordBatch()
			if _, err := lake.Write(ctx, fmt.Sprintf("bench-%d-%d", i, j), []arrow.RecordBatch{rec}); err != nil {
				b.Fatal(err)
			}
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		r.Release()
	}
	return lake, size
}

// BenchmarkReportDay measures flowq report over a day of the demo's
// traffic: the two sessions (the day and the day before), the detectors,
// every chart's SQL and the page. The reference beside it opens the
// day's session and reads every record's bytes once.
func BenchmarkReportDay(b *testing.B) {
	lake, size := benchLake(b)
	ctx := context.Background()
	tr := store.TimeRange{Since: day, Until: day.Add(24 * time.Hour)}
	prevTR := store.TimeRange{Since: day.Add(-24 * time.Hour), Until: day}
	b.Run("reference=open+sum", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			db, err := lakedb.Open(ctx, lake, tr, lakedb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			var n, sum int64
			if err := db.SQL().QueryRowContext(ctx, "SELECT count(*), sum(bytes)::BIGINT FROM flows").Scan(&n, &sum); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("report", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		var page bytes.Buffer
		for b.Loop() {
			db, err := lakedb.Open(ctx, lake, tr, lakedb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			prev, err := lakedb.Open(ctx, lake, prevTR, lakedb.Options{})
			if err != nil {
				b.Fatal(err)
			}
			alerts, err := Detect(ctx, lake, tr, historyConfig())
			if err != nil {
				b.Fatal(err)
			}
			d, err := Build(ctx, Input{DB: db.SQL(), Prev: prev.SQL(), Alerts: alerts}, Config{Since: tr.Since, Until: tr.Until})
			if err != nil {
				b.Fatal(err)
			}
			page.Reset()
			if err := Write(&page, d); err != nil {
				b.Fatal(err)
			}
			db.Close()
			prev.Close()
			if d.Summary.Records < 400_000 || len(d.Alerts) == 0 {
				b.Fatalf("%d records, %d alerts", d.Summary.Records, len(d.Alerts))
			}
		}
		b.ReportMetric(float64(page.Len()), "page-bytes")
	})
}
