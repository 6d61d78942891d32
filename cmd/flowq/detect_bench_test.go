package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/synth"
)

// BenchmarkDetectLake: flowq detect over a lake of high-cardinality
// records (the scenario's traffic plus tasks calling an internet peer per
// 20 records), through lakescan's Arrow batches ("arrow", what flowq detect
// does: the detectors' columns only, strings as dictionaries) beside the
// DuckDB row path it replaced ("duckdb-rows": SELECT ... ORDER BY start,
// scanned row by row into Arrow builders; kept here only as the reference).
// FLOWQ_BENCH_RECORDS sets the size (default 360,000; the README's figure
// is for 3,600,000, six alternating runs of -benchtime 1x).
func BenchmarkDetectLake(b *testing.B) {
	n := 360_000
	if v, err := strconv.Atoi(os.Getenv("FLOWQ_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	text, _ := synth.Scenario(7, synth.DetectFormat, start, 24*time.Hour, n*19/20, start.Add(10*time.Hour))
	text = append(text, highCardinalityText(start, n/20)...)
	dir := b.TempDir()
	flows := filepath.Join(dir, "flows.log")
	if err := os.WriteFile(flows, text, 0o644); err != nil {
		b.Fatal(err)
	}
	lake := filepath.Join(dir, "lake")
	var errb strings.Builder
	if code := run([]string{"--lake", lake, "ingest", flows}, strings.NewReader(""), io.Discard, &errb, func(string) string { return "" }); code != 0 {
		b.Fatalf("ingest: %s", errb.String())
	}
	a := &app{lake: lake, stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	discard := alert.NewJSONL(io.Discard)
	cfg := cliDefaults()
	ctx := context.Background()
	b.Run("arrow", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			if err := runDetect(ctx, a, cfg, timeRange{}, discard, discard); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("duckdb-rows", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			eng, err := detect.New(cfg, detect.NewMemoryState(), time.Now)
			if err != nil {
				b.Fatal(err)
			}
			d, err := openLakeDB(ctx, a, timeRange{})
			if err != nil {
				b.Fatal(err)
			}
			err = scanFlows(ctx, d.DB, func(i int, rec arrow.RecordBatch) error {
				as, err := eng.Process(ctx, "flowq-detect#"+strconv.Itoa(i), rec)
				if err != nil {
					return err
				}
				return eng.Ack(ctx, as)
			})
			d.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// highCardinalityText returns n records of tasks calling n distinct internet
// peers over the day.
func highCardinalityText(day time.Time, n int) []byte {
	var out []byte
	for i := range n {
		at := day.Unix() + int64(i)*86400/int64(max(n, 1))
		peer := fmt.Sprintf("%d.%d.%d.%d", 100+i%100, (i/100)%250, (i/25000)%250, 1+i%250)
		e := synth.ECS[i%len(synth.ECS)]
		f := synth.Flow{Version: 5, Account: synth.Account, ENI: e.ENI, Src: e.IP, Dst: peer, SrcPort: 40000 + i%20000, DstPort: 443,
			Protocol: 6, Packets: 12, Bytes: 9000, Start: at, End: at + 20, Action: "ACCEPT", Status: "OK", VPC: "vpc-0flowq0seed0001",
			Subnet: e.Subnet, Type: "IPv4", PktSrc: e.IP, PktDst: peer, Direction: "egress"}
		out = append(synth.AppendLine(out, synth.DetectFormat, &f), '\n')
	}
	return out
}

// detectBatchRows is the number of rows per record batch of the reference
// path.
const detectBatchRows = 64 << 10

// scanFlows reads the columns of the flows view the detectors use, ordered
// by start time, as Arrow record batches of up to detectBatchRows rows.
func scanFlows(ctx context.Context, db *sql.DB, fn func(int, arrow.RecordBatch) error) error {
	have := map[string]bool{}
	rows, err := db.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE flows)")
	if err != nil {
		return fmt.Errorf("describe flows: %w", err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		have[c] = true
	}
	rows.Close()
	strs, ints := detect.Columns()
	var fields []arrow.Field
	var sel []string
	for _, c := range strs {
		if have[c] {
			fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
			sel = append(sel, fmt.Sprintf("NULLIF(CAST(%s AS VARCHAR), '-')", quoteIdent(c)))
		}
	}
	for _, c := range ints {
		if have[c] {
			fields = append(fields, arrow.Field{Name: c, Type: arrow.PrimitiveTypes.Int64, Nullable: true})
			sel = append(sel, fmt.Sprintf("CAST(%s AS BIGINT)", quoteIdent(c)))
		}
	}
	order := []string{"start"}
	for _, c := range []string{"end", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "bytes"} {
		if have[c] {
			order = append(order, quoteIdent(c))
		}
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM flows ORDER BY " + strings.Join(order, ", ")
	rows, err = db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read flows: %w", err)
	}
	defer rows.Close()
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	vals := make([]any, len(fields))
	nstr := make([]sql.NullString, len(fields))
	nint := make([]sql.NullInt64, len(fields))
	for i, f := range fields {
		if f.Type.ID() == arrow.STRING {
			vals[i] = &nstr[i]
		} else {
			vals[i] = &nint[i]
		}
	}
	n, batch := 0, 0
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		n = 0
		err := fn(batch, rec)
		batch++
		return err
	}
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return fmt.Errorf("read flows: %w", err)
		}
		for i, f := range fields {
			if f.Type.ID() == arrow.STRING {
				sb := b.Field(i).(*array.StringBuilder)
				if nstr[i].Valid {
					sb.Append(nstr[i].String)
				} else {
					sb.AppendNull()
				}
			} else {
				ib := b.Field(i).(*array.Int64Builder)
				if nint[i].Valid {
					ib.Append(nint[i].Int64)
				} else {
					ib.AppendNull()
				}
			}
		}
		if n++; n == detectBatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read flows: %w", err)
	}
	if n > 0 {
		return flush()
	}
	return nil
}
