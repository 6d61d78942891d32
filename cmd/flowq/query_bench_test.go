package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
	"github.com/flowq/flowq/queries"
)

// benchRecords is the size of BenchmarkQuery's lake. The README's figure is
// for -query-records=10000000 (building that lake once takes minutes).
var benchRecords = flag.Int("query-records", 1_000_000, "records in BenchmarkQuery's lake (the README's figure: 10000000)")

// benchLake builds, once per machine and size, a lake of *benchRecords
// records (a day of traffic of the reference network, 24 hourly partitions)
// and the same records as flow-log text files, under
// $TMPDIR/flowq-bench-<n>. Later runs reuse them.
func benchLake(b *testing.B) (lake, textDir string) {
	b.Helper()
	root := filepath.Join(os.TempDir(), fmt.Sprintf("flowq-bench-%d-v5", *benchRecords))
	lake, textDir = filepath.Join(root, "lake"), filepath.Join(root, "text")
	if _, err := os.Stat(filepath.Join(root, "DONE")); err == nil {
		return lake, textDir
	}
	os.RemoveAll(root)
	ctx := context.Background()
	l, err := store.Open(ctx, lake, store.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(textDir, 0o755)
	fm := parse.DefaultFormat()
	const hours = 24
	per := (*benchRecords + hours - 1) / hours
	t0 := time.Now()
	for h := range hours {
		g := synth.New(uint64(100+h), day.Add(time.Duration(h)*time.Hour), time.Hour-time.Minute, per)
		text := append(make([]byte, 0, per*112), fm.Header()...)
		text = append(text, '\n')
		for range per {
			fl := g.Next()
			text = synth.AppendLine(text, fm, &fl)
			text = append(text, '\n')
		}
		if err := os.WriteFile(filepath.Join(textDir, fmt.Sprintf("h%02d.log", h)), text, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(textDir, fmt.Sprintf("h%02d.log.gz", h)), gzipped(text), 0o644); err != nil {
			b.Fatal(err)
		}
		r := parse.NewBytesReader(text, parse.Options{})
		recs, _ := r.ReadAll() // in-memory input: no I/O error
		r.Release()
		if _, err := l.Write(ctx, fmt.Sprintf("bench-%02d", h), recs); err != nil {
			b.Fatal(err)
		}
		for _, rec := range recs {
			rec.Release()
		}
	}
	os.WriteFile(filepath.Join(root, "DONE"), nil, 0o644)
	b.Logf("built %d-record lake and text in %v", *benchRecords, time.Since(t0))
	return lake, textDir
}

// BenchmarkQuery runs named queries over *benchRecords records: from the
// lake (the flows view flowq builds) and, as references in the same run,
// DuckDB over the raw flow-log text (read_csv) of the same records, plain
// and gzip'd as AWS delivers it to S3.
//
//	go test -run '^$' -bench Query -query-records 10000000 ./cmd/flowq
func BenchmarkQuery(b *testing.B) {
	lake, textDir := benchLake(b)
	ctx := context.Background()
	a := &app{lake: lake, getenv: func(string) string { return "" }, stderr: io.Discard}
	d, err := openLakeDB(ctx, a, timeRange{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	textDB := func(glob string) *sql.DB {
		db, err := lakedb.OpenSession(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(fmt.Sprintf(`CREATE VIEW flows AS SELECT * FROM read_csv('%s', delim = ' ', header = true, nullstr = '-',
			columns = {'version': 'INTEGER', 'account-id': 'VARCHAR', 'interface-id': 'VARCHAR', 'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR',
			'srcport': 'INTEGER', 'dstport': 'INTEGER', 'protocol': 'INTEGER', 'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT',
			'end': 'BIGINT', 'action': 'VARCHAR', 'log-status': 'VARCHAR'})`, glob)); err != nil {
			b.Fatal(err)
		}
		return db
	}
	raw := textDB(filepath.Join(textDir, "*.log"))
	defer raw.Close()
	rawGz := textDB(filepath.Join(textDir, "*.log.gz"))
	defer rawGz.Close()
	var n int64
	if err := d.DB.QueryRow("SELECT count(*) FROM flows").Scan(&n); err != nil || n < int64(*benchRecords) {
		b.Fatalf("lake has %d records (%v)", n, err)
	}
	// Each iteration runs the query on both sources back to back, so both
	// see the same machine load (other processes share these 2 cores).
	for _, qa := range []struct {
		name string
		args map[string]string
	}{{"top-talkers", nil}, {"rejected-from-subnet", map[string]string{"cidr": "198.18.0.0/16"}}} {
		q, _ := queries.Get(qa.name)
		sqlText, err := q.Render(qa.args)
		if err != nil {
			b.Fatal(err)
		}
		run := func(b *testing.B, db *sql.DB) time.Duration {
			t0 := time.Now()
			rs, err := db.Query(sqlText)
			if err != nil {
				b.Fatal(err)
			}
			rows := 0
			for rs.Next() {
				rows++
			}
			if err := rs.Err(); err != nil {
				b.Fatal(err)
			}
			rs.Close()
			if rows == 0 {
				b.Fatalf("%s: no rows", qa.name)
			}
			return time.Since(t0)
		}
		b.Run(qa.name, func(b *testing.B) {
			b.ReportAllocs()
			var lakeT, textT, gzT []time.Duration
			for b.Loop() {
				lakeT = append(lakeT, run(b, d.DB))
				textT = append(textT, run(b, raw))
				gzT = append(gzT, run(b, rawGz))
			}
			lm, tm, gm := median(lakeT), median(textT), median(gzT)
			b.ReportMetric(float64(lm.Milliseconds()), "lake-ms")
			b.ReportMetric(float64(tm.Milliseconds()), "text-ms")
			b.ReportMetric(float64(gm.Milliseconds()), "textgz-ms")
			b.ReportMetric(float64(tm)/float64(lm), "x-vs-text")
			b.ReportMetric(float64(gm)/float64(lm), "x-vs-gz")
			b.ReportMetric(float64(*benchRecords)/lm.Seconds()/1e6, "lake-Mrec/s")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// quoteIdent quotes a column name for the benchmarks' SQL.
func quoteIdent(s string) string { return lakedb.QuoteIdent(s) }
