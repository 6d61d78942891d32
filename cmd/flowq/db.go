package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/queries"
)

// lakeDB is an in-memory DuckDB session over a lake: flowq's macros
// (in_cidr, ip4_int, ip4_subnet, …; see queries/macros.sql), the Go function
// ip6_in_cidr, and a view flows over the lake's live Parquet files in the
// time range. Close it when done.
//
// The view is
//
//	CREATE VIEW flows AS SELECT * FROM read_parquet([files…],
//	    hive_partitioning = true, union_by_name = true) [WHERE start in range]
//
// over the files store.Lake.Objects lists (so a compaction in progress is
// never counted twice), pruned to the partitions the range touches. Its
// columns are those of the files (AWS's Parquet names; files with other
// field sets are unioned by name) plus the partition columns year, month,
// day and hour. For an S3 lake the selected objects are downloaded to a
// temporary directory first, because DuckDB's core build cannot read s3://
// without the httpfs extension.
type lakeDB struct {
	DB    *sql.DB
	Lake  *store.Lake
	Files int // Parquet files behind the view
	tmp   string
}

// errEmptyLake is returned by openLakeDB when the lake has no data at all.
var errEmptyLake = errors.New("the lake is empty")

// openLakeDB opens the lake named by --lake and a DuckDB session over it,
// restricted to tr. A missing or empty lake is an error that says how to
// fill it. A range with no data gives an empty flows view with the default
// format's columns.
func openLakeDB(ctx context.Context, a *app, tr timeRange) (*lakeDB, error) {
	lake, err := store.Open(ctx, a.lake, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, fmt.Errorf("no lake at %s: create one with 'flowq ingest PATH...' or point --lake (or FLOWQ_LAKE) at an existing one", a.lake)
		}
		return nil, err
	}
	all, err := lake.Objects(ctx, nil)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: %s has no Parquet files; add some with 'flowq ingest PATH...'", errEmptyLake, a.lake)
	}
	objs := all
	if !tr.IsZero() {
		objs, err = lake.Objects(ctx, tr.Filter())
		if err != nil {
			return nil, err
		}
	}
	d := &lakeDB{Lake: lake, Files: len(objs)}
	var files []string
	if len(objs) > 0 {
		if lake.Local() == "" {
			d.tmp, err = os.MkdirTemp("", "flowq-lake-")
			if err != nil {
				return nil, err
			}
		}
		files, err = lake.LocalFiles(ctx, objs, d.tmp)
		if err != nil {
			d.Close()
			return nil, err
		}
	}
	d.DB, err = openDuckDB(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if _, err := d.DB.ExecContext(ctx, flowsViewSQL(files, tr)); err != nil {
		d.Close()
		return nil, fmt.Errorf("create flows view: %w", err)
	}
	return d, nil
}

// Close closes the session and removes downloaded files.
func (d *lakeDB) Close() error {
	var err error
	if d.DB != nil {
		err = d.DB.Close()
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return err
}

// openDuckDB opens an in-memory DuckDB with flowq's functions and macros
// but no flows view. It keeps a single connection so that everything
// registered on it is visible to every query.
func openDuckDB(ctx context.Context) (*sql.DB, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, "ip6_in_cidr", ip6InCIDR{}); err != nil {
		db.Close()
		return nil, fmt.Errorf("register ip6_in_cidr: %w", err)
	}
	if _, err := conn.ExecContext(ctx, queries.Macros()); err != nil {
		db.Close()
		return nil, fmt.Errorf("define macros: %w", err)
	}
	return db, nil
}

// flowsViewSQL returns the statement that creates the flows view.
func flowsViewSQL(files []string, tr timeRange) string {
	var b strings.Builder
	b.WriteString("CREATE OR REPLACE VIEW flows AS SELECT * FROM ")
	if len(files) == 0 {
		// No data in the range: an empty relation with the default columns.
		b.WriteString("(SELECT ")
		fm := parse.DefaultFormat()
		for i := 0; i < fm.Len(); i++ {
			fd := fm.Field(i)
			typ := map[parse.Kind]string{parse.String: "VARCHAR", parse.Int32: "INTEGER", parse.Int64: "BIGINT"}[fd.Kind]
			fmt.Fprintf(&b, "NULL::%s AS %s, ", typ, quoteIdent(fd.Column))
		}
		b.WriteString("NULL::BIGINT AS year, NULL::BIGINT AS month, NULL::BIGINT AS day, NULL::BIGINT AS hour WHERE false)")
		return b.String()
	}
	b.WriteString("read_parquet([")
	for i, f := range files {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlString(f))
	}
	b.WriteString("], hive_partitioning = true, union_by_name = true)")
	if w := timeRangeSQL(tr); w != "" {
		b.WriteString(" WHERE ")
		b.WriteString(w)
	}
	return b.String()
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent quotes s as a SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ip6InCIDR is ip6_in_cidr(addr VARCHAR, cidr VARCHAR) BOOLEAN: whether
// addr lies in cidr, for any address family, parsed with net/netip. The
// in_cidr macro uses it for IPv6 prefixes. Text that is not an address is
// false.
type ip6InCIDR struct{}

func (ip6InCIDR) Config() duckdb.ScalarFuncConfig {
	v, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	b, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{v, v}, ResultTypeInfo: b}
}

func (ip6InCIDR) Executor() duckdb.ScalarFuncExecutor {
	// DuckDB may call this from several threads at once: no shared state.
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		addr, _ := values[0].(string)
		cidr, _ := values[1].(string)
		pfx, ok := parseCIDR(cidr)
		if !ok {
			return false, nil
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return false, nil
		}
		return pfx.Contains(a.Unmap()), nil
	}}
}

// parseCIDR parses a prefix or a bare address (a /32 or /128).
func parseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
