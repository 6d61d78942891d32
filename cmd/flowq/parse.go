package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/source"
)

func newParseCmd(a *app) *cobra.Command {
	var format string
	var batch int
	cmd := &cobra.Command{
		Use:   "parse [--format FMT] [FILE|-]...",
		Short: "Parse flow-log text into JSON Lines",
		Long: `Parse flow logs (text, plain or gzip, or AWS's Parquet; files, directories or
'-' for stdin) and write one
JSON object per record to stdout. Keys are the Parquet column names (field name
with '-' replaced by '_'), only for fields present in the format; '-' becomes
null; numbers are numbers.

The format is AWS's default version 2 format unless --format gives another
(AWS ${field} syntax). A header line of field names, as in files AWS delivers
to S3, declares the format from that line on.

Rejected lines are reported on stderr as FILE:LINE: reason and skipped (the
first few one by one, then one summary per kind of error); every good line
is still written. Exit status: 0 all lines parsed, 1 some lines
rejected (or a file could not be read), 2 usage error (such as an unknown
field in --format).`,
		Example: `  flowq parse flows.log
  zcat 123456789012_vpcflowlogs_*.log.gz | flowq parse -
  flowq parse --format '${version} ${srcaddr} ${dstaddr} ${bytes} ${action}' flows.log
  flowq parse flows.log | jq 'select(.action == "REJECT")'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			fm, err := parse.ParseFormat(format)
			if err != nil {
				return usageError("--format: %v", err)
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			out := bufio.NewWriterSize(a.stdout, 256<<10)
			defer out.Flush()
			var total parse.Stats
			var failed error
			var sum parse.Summary
			for _, path := range args {
				st, err := parseFile(a, path, fm, batch, out, &sum)
				total.Add(st)
				if err != nil {
					fmt.Fprintf(a.stderr, "flowq: %v\n", err)
					failed = err
				}
			}
			if err := out.Flush(); err != nil {
				return err
			}
			for _, line := range sum.Report(total) {
				fmt.Fprintln(a.stderr, "flowq:", line)
			}
			if total.BadLines > 0 {
				fmt.Fprintf(a.stderr, "flowq: %s of %s lines rejected; the other %s records were written\n",
					parse.Group(total.BadLines), parse.Group(total.BadLines+total.Records), parse.Group(total.Records))
			}
			if total.BadLines > 0 || failed != nil {
				return errRejected
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "flow-log format in AWS ${field} syntax (default: AWS's version 2 format)")
	cmd.Flags().IntVar(&batch, "batch-size", parse.DefaultBatchSize, "records per Arrow batch")
	return cmd
}

// parseFile writes one path's records as JSON Lines.
func parseFile(a *app, path string, fm *parse.Format, batch int, out *bufio.Writer, sum *parse.Summary) (parse.Stats, error) {
	report := func(e *parse.LineError) {
		if sum.Add(e) {
			fmt.Fprintln(a.stderr, e)
		}
	}
	ro := source.ReadOptions{Format: fm, BatchSize: batch, AnyFormat: true, OnBadLine: report,
		OnWarning: func(e *parse.LineError) { fmt.Fprintln(a.stderr, "warning:", e) }}
	var buf []byte
	src := source.Config{Stdin: a.stdin}
	return src.ReadPath(context.Background(), path, ro, func(rec arrow.RecordBatch) (err error) {
		buf, err = parse.WriteJSONLines(out, rec, buf)
		return err
	})
}
