package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
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
	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/benchref"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/synth"
)

// benchResult is what `flowq bench --json` prints.
type benchResult struct {
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

func newBenchCmd(a *app) *cobra.Command {
	var (
		input   string
		records int
		format  string
		rounds  int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "bench [--input FILE] [--records N] [--format FMT] [--json]",
		Short: "Benchmark the flow-log parser against DuckDB's CSV reader and a stdlib parser",
		Long: `Measure parser throughput, the way users compare flowq with what they would
reach for instead. In the same process and interleaved over several rounds
(the median is reported), on the same bytes:

  flowq    flowq's parser, flow-log text → Arrow record batches, one core
  stdlib   a plain Go parser: bufio + strings.Fields + strconv into structs
  duckdb   DuckDB's CSV reader, read_csv(delim=' ', nullstr='-') into a
           table, with all threads

Without --input it generates realistic records for the seed VPC
(10.0.0.0/16, its six subnets, ALB/ECS/RDS ports, some REJECT and NODATA).
With --input FILE (plain or .gz) it measures that file; a header line, as in
files AWS delivers to S3, declares its format. MB/s counts uncompressed text.
Machines are noisy: compare the ratios, which are measured side by side.`,
		Example: `  flowq bench
  flowq bench --records 2000000 --json
  flowq bench --format '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr}'
  flowq bench --input 123456789012_vpcflowlogs_us-east-1_fl-0abc_20261120T0000Z_1a2b.log.gz`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rounds < 1 || records < 1 {
				return usageError("--rounds and --records must be at least 1")
			}
			fm, err := parse.ParseFormat(format)
			if err != nil {
				return usageError("--format: %v", err)
			}
			name := fmt.Sprintf("generated (%d records)", records)
			var data []byte
			if input != "" {
				data, err = readAllInput(a, input)
				if err != nil {
					return err
				}
				name = input
			} else {
				data = synth.Text(1, fm, time.Now().UTC().Truncate(24*time.Hour).Add(-24*time.Hour), records, false)
			}
			res, err := runBench(cmd.Context(), a, data, fm, rounds, !asJSON)
			if err != nil {
				return err
			}
			res.Input = name
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				return enc.Encode(res)
			}
			printBench(a.stdout, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "flow-log file to measure (plain or gzip); default: generated seed-VPC traffic")
	cmd.Flags().IntVar(&records, "records", 1_000_000, "records to generate when no --input is given")
	cmd.Flags().StringVar(&format, "format", "", "flow-log format in AWS ${field} syntax (default: version 2; a header line in --input overrides)")
	cmd.Flags().IntVar(&rounds, "rounds", 5, "interleaved rounds; the median is reported")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	return cmd
}

func readAllInput(a *app, path string) ([]byte, error) {
	ctx := context.Background()
	src := source.Config{Stdin: a.stdin}
	ins, _, err := src.Expand(ctx, []string{path})
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("%s: not one flow-log file", path)
	}
	in, err := ins[0].OpenText(ctx)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// runBench measures the three parsers over data, interleaving them round by
// round so that a noisy neighbour slows all of them alike.
func runBench(ctx context.Context, a *app, data []byte, fm *parse.Format, rounds int, progress bool) (benchResult, error) {
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
		return benchResult{}, err
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "flows.log")
	if err := os.WriteFile(csvPath, data, 0o600); err != nil {
		return benchResult{}, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return benchResult{}, fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	threads := runtime.NumCPU()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", threads)); err != nil {
		return benchResult{}, err
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
		if progress {
			fmt.Fprintf(a.stderr, "\rround %d/%d …", round+1, rounds)
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
				return benchResult{}, err
			}
			if err := check(runners[i].name, n); err != nil {
				return benchResult{}, err
			}
			times[i] = append(times[i], d)
		}
	}
	if progress {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	mbs := func(ts []time.Duration) float64 {
		slices.Sort(ts)
		return float64(len(data)) / ts[len(ts)/2].Seconds() / 1e6
	}
	res := benchResult{
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

func printBench(w io.Writer, r benchResult) {
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
