package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newQueryCmd(a *app) *cobra.Command {
	var tf timeFlags
	var output string
	cmd := &cobra.Command{
		Use:   "query [--since T] [--until T] [-o FORMAT] SQL|-",
		Short: "Run SQL over the lake's flows view with DuckDB",
		Long: `Run one SQL statement with DuckDB over the view flows: every record of the
lake (--lake, default ./flowlake or $FLOWQ_LAKE), one column per flow-log field
(AWS's Parquet names: srcaddr, dstport, log_status, "end", ...) plus the
partition columns year, month, day and hour. '-' reads the SQL from stdin.

--since and --until keep only flows that start in the range and prune the
lake's hourly partitions before DuckDB opens a file, so a narrow range over a
long history stays fast.

Macros: in_cidr(addr, cidr) (IPv4 and IPv6), ip4_int(addr),
ip4_subnet(addr, bits). Times are Unix seconds; to_timestamp(start) shows them.`,
		Example: `  flowq query "SELECT action, count(*) FROM flows GROUP BY ALL"
  flowq query --since 24h "SELECT srcaddr, sum(bytes) FROM flows WHERE in_cidr(srcaddr, '10.0.11.0/24') GROUP BY 1"
  flowq query -o csv "SELECT * FROM flows WHERE dstport = 22" > ssh.csv`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := tf.timeRange(time.Now())
			if err != nil {
				return err
			}
			oo, err := a.outputOptions(output)
			if err != nil {
				return err
			}
			q := args[0]
			if q == "-" {
				data, err := io.ReadAll(a.stdin)
				if err != nil {
					return err
				}
				q = string(data)
			}
			if strings.TrimSpace(q) == "" {
				return usageError("empty SQL")
			}
			return a.runSQL(cmd.Context(), q, tr, oo)
		},
	}
	addTimeFlags(cmd.Flags(), &tf)
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

// runSQL runs one statement over the lake in tr and renders the result.
// DuckDB's errors come back with the query that caused them.
func (a *app) runSQL(ctx context.Context, q string, tr timeRange, oo outputOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	d, err := openLakeDB(ctx, a, tr)
	if err != nil {
		return err
	}
	defer d.Close()
	if d.Files == 0 {
		fmt.Fprintf(a.stderr, "flowq: no data in %s; the lake holds other times\n", tr)
	}
	rows, err := d.DB.QueryContext(ctx, q)
	if err != nil {
		return sqlError(err, q)
	}
	defer rows.Close()
	if _, err := writeRows(a.stdout, rows, oo); err != nil {
		return sqlError(err, q)
	}
	return nil
}

// sqlError adds the query to DuckDB's message.
func sqlError(err error, q string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	lines := strings.Split(strings.TrimSpace(q), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return fmt.Errorf("%v\nin query:\n%s", err, strings.Join(lines, "\n"))
}
