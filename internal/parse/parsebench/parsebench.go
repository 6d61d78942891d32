// Package parsebench measures flowq's parser the way users compare it with
// what they would reach for instead: DuckDB's CSV reader and a plain stdlib
// parser, on the same bytes, in the same process, interleaved (flowq bench).
package parsebench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver "duckdb"

	"github.com/flowq/flowq/internal/benchref"
	"github.com/flowq/flowq/internal/parse"
)

// Result is one comparison (`flowq bench --json` prints it).
type Result struct {
	Input          string  `json:"input"`
	Format         string  `json:"format"`
	Fields         int     `json:"fields"`
	Records        int64   `json:"records"`
	Bytes          int64   `json:"bytes"`
	Rounds         int     `json:"rounds"`
	FlowqMBs       float64 `json:"flowq_mb_s"`
	StdlibMBs      float64 `json:"stdlib_mb_s"`
	DuckDBMBs      float64 `json:"duckdb_mb_s"`
	DuckDBThreads  int     `json:"duckdb_threads"`
	RatioVsDuckDB  float64 `json:"ratio_vs_duckdb"`
	RatioVsStdlib  float64 `json:"ratio_vs_stdlib"`
	FlowqRecordsPS float64 `json:"flowq_records_s"`
	// FlowqCPUMBs divides by the CPU time the process used while flowq
	// parsed (user+sys, GC included) instead of wall time: steadier on a
	// shared machine, and what one dedicated core would do.
	FlowqCPUMBs float64 `json:"flowq_cpu_mb_s"`
	GoMaxProcs  int     `json:"gomaxprocs"`
}

// Run measures the three parsers over data, interleaving them round by
// round so that a noisy neighbour slows all of them alike. Progress, if
// not nil, gets a line per round.
func Run(ctx context.Context, data []byte, fm *parse.Format, rounds int, progress io.Writer) (Result, error) {
	// The format in force: a header line in the data overrides --format.
	header := false
	if nl := bytes.IndexByte(data, '\n'); nl > 0 {
		if hf, unknown, err := parse.FromHeader(string(data[:nl])); err == nil && len(unknown) == 0 {
			fm, header = hf, true
		}
	}
	names := make([]string, fm.Len())
	cols := make([]string, fm.Len())
	for i := range names {
		f := fm.Field(i)
		names[i] = f.Name
		typ := map[parse.Kind]string{parse.Int32: "INTEGER", parse.Int64: "BIGINT", parse.String: "VARCHAR"}[f.Kind]
		cols[i] = fmt.Sprintf("'%s': '%s'", f.Column, typ)
	}

	dir, err := os.MkdirTemp("", "flowq-bench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "flows.log")
	if err := os.WriteFile(csvPath, data, 0o600); err != nil {
		return Result{}, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return Result{}, fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	threads := runtime.NumCPU()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
		return Result{}, err
	}
	duckSQL := fmt.Sprintf("CREATE OR REPLACE TABLE flows AS SELECT * FROM read_csv('%s', delim=' ', header=%t, nullstr='-', columns={%s})",
		strings.ReplaceAll(csvPath, "'", "''"), header, strings.Join(cols, ", "))

	var want int64 = -1
	check := func(who string, n int64) error {
		if want < 0 {
			want = n
		}
		if n != want {
			return fmt.Errorf("bench: %s read %d records, others %d: the input does not parse the same way everywhere (use a clean file)", who, n, want)
		}
		return nil
	}
	runners := []struct {
		name string
		run  func() (int64, error)
	}{
		{"flowq", func() (int64, error) {
			r := parse.NewBytesReader(data, parse.Options{Format: fm})
			defer r.Release()
			var n int64
			for r.Next() {
				n += r.RecordBatch().NumRows()
			}
			if st := r.Stats(); st.BadLines > 0 {
				return n, fmt.Errorf("bench: flowq rejected %d lines of the input; fix it or pass the right --format (see flowq parse)", st.BadLines)
			}
			return n, nil
		}},
		{"stdlib", func() (int64, error) {
			var keep []benchref.Record
			n, err := benchref.Stdlib(bytes.NewReader(data), names, func(r *benchref.Record) {
				if len(keep) == 4096 {
					keep = keep[:0]
				}
				keep = append(keep, *r)
			})
			return int64(n), err
		}},
		{"duckdb", func() (int64, error) {
			if _, err := db.ExecContext(ctx, duckSQL); err != nil {
				return 0, fmt.Errorf("duckdb read_csv: %w", err)
			}
			var n int64
			err := db.QueryRowContext(ctx, "SELECT count(*) FROM flows").Scan(&n)
			return n, err
		}},
	}
	times := make([][]time.Duration, len(runners))
	var cpuTimes []time.Duration
	for round := 0; round < rounds; round++ {
		if progress != nil {
			fmt.Fprintf(progress, "\rround %d/%d …", round+1, rounds)
		}
		for k := range runners {
			i := (k + round) % len(runners) // rotate the order each round
			runtime.GC()
			c0 := cpuTime()
			t0 := time.Now()
			n, err := runners[i].run()
			d := time.Since(t0)
			if i == 0 {
				cpuTimes = append(cpuTimes, cpuTime()-c0)
			}
			if err != nil {
				return Result{}, err
			}
			if err := check(runners[i].name, n); err != nil {
				return Result{}, err
			}
			times[i] = append(times[i], d)
		}
	}
	if progress != nil {
		fmt.Fprint(progress, "\r\033[K")
	}
	mbs := func(ts []time.Duration) float64 {
		slices.Sort(ts)
		return float64(len(data)) / ts[len(ts)/2].Seconds() / 1e6
	}
	res := Result{
		Format: fm.String(), Fields: fm.Len(), Records: want, Bytes: int64(len(data)), Rounds: rounds,
		FlowqMBs: mbs(times[0]), StdlibMBs: mbs(times[1]), DuckDBMBs: mbs(times[2]), DuckDBThreads: threads,
		FlowqCPUMBs: mbs(cpuTimes),
		GoMaxProcs:  runtime.GOMAXPROCS(0),
	}
	res.RatioVsDuckDB = res.FlowqMBs / res.DuckDBMBs
	res.RatioVsStdlib = res.FlowqMBs / res.StdlibMBs
	res.FlowqRecordsPS = res.FlowqMBs * 1e6 / float64(res.Bytes) * float64(res.Records)
	return res, nil
}

// cpuTime returns the CPU time (user+sys) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Print writes r as a table.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "input   %s: %d records, %.1f MB, %d fields\n", r.Input, r.Records, float64(r.Bytes)/1e6, r.Fields)
	fmt.Fprintf(w, "method  median of %d interleaved rounds, same bytes, same process\n\n", r.Rounds)
	fmt.Fprintf(w, "%-34s %10s %14s\n", "parser", "MB/s", "records/s")
	row := func(name string, v float64) {
		fmt.Fprintf(w, "%-34s %10.0f %14.0f\n", name, v, v*1e6/float64(r.Bytes)*float64(r.Records))
	}
	row("flowq (text → Arrow, 1 core)", r.FlowqMBs)
	row("  per CPU-second (user+sys)", r.FlowqCPUMBs)
	row(fmt.Sprintf("duckdb read_csv (%d threads)", r.DuckDBThreads), r.DuckDBMBs)
	row("stdlib (bufio+Fields+strconv)", r.StdlibMBs)
	fmt.Fprintf(w, "\nflowq is %.1f× DuckDB's CSV reader and %.1f× a plain stdlib parser.\n", r.RatioVsDuckDB, r.RatioVsStdlib)
}
