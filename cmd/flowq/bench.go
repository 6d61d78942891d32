package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/parse/parsebench"
	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/synth"
)

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

Without --input it generates realistic records for the reference network
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
				src := source.Config{Stdin: a.stdin}
				data, err = src.ReadText(context.Background(), input)
				if err != nil {
					return err
				}
				name = input
			} else {
				data = synth.Text(1, fm, time.Now().UTC().Truncate(24*time.Hour).Add(-24*time.Hour), records, false)
			}
			var progress io.Writer
			if !asJSON {
				progress = a.stderr
			}
			res, err := parsebench.Run(cmd.Context(), data, fm, rounds, progress)
			if err != nil {
				return err
			}
			res.Input = name
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				return enc.Encode(res)
			}
			res.Print(a.stdout)
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "flow-log file to measure (plain or gzip); default: generated traffic of the reference network")
	cmd.Flags().IntVar(&records, "records", 1_000_000, "records to generate when no --input is given")
	cmd.Flags().StringVar(&format, "format", "", "flow-log format in AWS ${field} syntax (default: version 2; a header line in --input overrides)")
	cmd.Flags().IntVar(&rounds, "rounds", 5, "interleaved rounds; the median is reported")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	return cmd
}
