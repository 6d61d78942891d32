package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/render"
)

func newQueryCmd(a *app) *cobra.Command {
	var rf resultFlags
	cmd := &cobra.Command{
		Use:   "query [--since T] [--until T] [-o FORMAT] SQL|-",
		Short: "Run SQL over the lake's flows view with DuckDB",
		Long: `Run one SQL statement with DuckDB over the view flows: every record of the
lake (--lake, default ./flowlake or $FLOWQ_LAKE) once. '-' reads the SQL
from stdin.

flows has the same columns for every lake and time range: every flow-log
field of versions 2-11 under AWS's Parquet names and types (srcaddr VARCHAR,
dstport INTEGER, bytes BIGINT, log_status, "end", pkt_srcaddr, ...; NULL
where the records' format lacks the field), then the INTEGER partition
columns year, month, day and hour (the UTC hour of start). A range without
data gives no rows, not an error.

--since and --until keep only flows that start in the range and prune the
lake's hourly partitions before DuckDB opens a file, so a narrow range over a
long history stays fast.

The session runs in UTC: start and "end" are Unix seconds, and
to_timestamp(start) shows them in UTC; tables mark time columns (UTC).
Macros: in_cidr(addr, cidr) (IPv4 and IPv6; a malformed CIDR is an error),
ip4_int(addr), ip4_subnet(addr, bits).

Tables fit the terminal without cutting a value (prose wraps; columns that
do not fit are left out and named); byte counts show as 1.5 MB unless --raw.
For an s3:// lake, the objects in the range are downloaded once and kept by
ETag under $FLOWQ_CACHE (default: your user cache directory).`,
		Example: `  flowq query "DESCRIBE flows"
  flowq query "SELECT action, count(*) FROM flows GROUP BY ALL"
  flowq query --since 24h "SELECT srcaddr, sum(bytes) FROM flows WHERE in_cidr(srcaddr, '10.0.11.0/24') GROUP BY 1"
  flowq query -o csv "SELECT * FROM flows WHERE dstport = 22" > ssh.csv
  flowq query --since 1h "SELECT to_timestamp(start) AS t, srcaddr, dstaddr, bytes FROM flows ORDER BY bytes DESC LIMIT 5"`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, oo, err := rf.parse(a)
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
	rf.add(cmd.Flags())
	return cmd
}

// resultFlags are the flags of a command that runs SQL over the lake:
// --since, --until, --output, --raw.
type resultFlags struct {
	time   timeFlags
	output string
	raw    bool
}

func (f *resultFlags) add(fs *pflag.FlagSet) {
	addTimeFlags(fs, &f.time)
	addOutputFlag(fs, &f.output)
	addRawFlag(fs, &f.raw)
}

// parse checks the flags: the time range from now, the output options.
func (f *resultFlags) parse(a *app) (timeRange, outputOptions, error) {
	tr, err := f.time.timeRange(time.Now())
	if err != nil {
		return tr, outputOptions{}, err
	}
	oo, err := a.outputOptions(f.output)
	oo.Raw = f.raw
	return tr, oo, err
}

// runSQL runs one statement over the lake in tr and renders the result.
// DuckDB's errors come back with the query that caused them.
func (a *app) runSQL(ctx context.Context, q string, tr timeRange, oo outputOptions) error {
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
		return lakedb.QueryError(err, q)
	}
	defer rows.Close()
	if _, err := render.SQLRows(a.stdout, rows, oo); err != nil {
		return lakedb.QueryError(err, q)
	}
	return nil
}
