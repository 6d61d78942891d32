package lakedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// Column is one column of the flows view.
type Column struct {
	Name string // "srcaddr", "log_status", "year"
	Type string // DuckDB type: VARCHAR, INTEGER or BIGINT
}

// partitionColumns are the view's last four columns, the UTC hour a record
// was filed under (from the lake's year=/month=/day=/hour= directories).
var partitionColumns = [...]string{"year", "month", "day", "hour"} //nolint:gochecknoglobals // a constant table

// Columns returns the flows view's schema, the same for every lake and
// time range: every flow-log field of versions 2 through 11 in AWS's order
// under AWS's Parquet column names and types (string → VARCHAR, int32 →
// INTEGER, int64 → BIGINT), then INTEGER year, month, day and hour.
func Columns() []Column {
	fields := parse.KnownFields()
	out := make([]Column, 0, len(fields)+len(partitionColumns))
	for _, f := range fields {
		out = append(out, Column{Name: f.Column, Type: duckType(f.Kind)})
	}
	for _, p := range partitionColumns {
		out = append(out, Column{Name: p, Type: "INTEGER"})
	}
	return out
}

func duckType(k parse.Kind) string {
	switch k {
	case parse.Int32:
		return "INTEGER"
	case parse.Int64:
		return "BIGINT"
	default:
		return "VARCHAR"
	}
}

// createView defines the flows view over files (local Parquet paths under
// year=/month=/day=/hour= directories) restricted to tr. Columns no file
// has are NULL of their type; a column a file stores under another type is
// cast to AWS's.
func createView(ctx context.Context, db *sql.DB, files []string, tr store.TimeRange) error {
	q, err := viewSQL(ctx, db, files, tr)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create flows view: %w", err)
	}
	return nil
}

// viewSQL returns the statement that creates the flows view.
func viewSQL(ctx context.Context, db *sql.DB, files []string, tr store.TimeRange) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE OR REPLACE VIEW flows AS SELECT ")
	if len(files) == 0 {
		for i, c := range Columns() {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "NULL::%s AS %s", c.Type, QuoteIdent(c.Name))
		}
		b.WriteString(" WHERE false")
		return b.String(), nil
	}
	src := readParquetSQL(files)
	have, err := fileColumns(ctx, db, src)
	if err != nil {
		return "", err
	}
	for i, c := range Columns() {
		if i > 0 {
			b.WriteString(", ")
		}
		id := QuoteIdent(c.Name)
		switch t, ok := have[c.Name]; {
		case !ok:
			fmt.Fprintf(&b, "NULL::%s AS %s", c.Type, id)
		case t == c.Type:
			b.WriteString(id)
		default:
			fmt.Fprintf(&b, "CAST(%s AS %s) AS %s", id, c.Type, id)
		}
	}
	b.WriteString(" FROM ")
	b.WriteString(src)
	if w := RangeSQL(tr); w != "" {
		b.WriteString(" WHERE ")
		b.WriteString(w)
	}
	return b.String(), nil
}

// readParquetSQL is the table function call over files, with the
// partition columns typed INTEGER.
func readParquetSQL(files []string) string {
	var b strings.Builder
	b.WriteString("read_parquet([")
	for i, f := range files {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteString(f))
	}
	b.WriteString("], hive_partitioning = true, union_by_name = true, hive_types = {")
	for i, p := range partitionColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: INTEGER", QuoteString(p))
	}
	b.WriteString("})")
	return b.String()
}

// fileColumns returns the columns the files have and their DuckDB types.
func fileColumns(ctx context.Context, db *sql.DB, src string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+src+")")
	if err != nil {
		return nil, fmt.Errorf("read the lake's Parquet schemas: %w", err)
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		have[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the lake's Parquet schemas: %w", err)
	}
	if _, ok := have[parse.ColStart]; !ok {
		return nil, fmt.Errorf("the lake's Parquet files have no %q column: not flow logs", parse.ColStart)
	}
	return have, nil
}

// RangeSQL returns the row predicate of tr on the start column (Unix
// seconds), "" for an unbounded range. It is the one place the range
// becomes SQL.
func RangeSQL(tr store.TimeRange) string {
	var conds []string
	if !tr.Since.IsZero() {
		conds = append(conds, fmt.Sprintf(`"start" >= %d`, tr.Since.Unix()))
	}
	if !tr.Until.IsZero() {
		conds = append(conds, fmt.Sprintf(`"start" < %d`, tr.Until.Unix()))
	}
	return strings.Join(conds, " AND ")
}

// QuoteString quotes s as a SQL string literal.
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// QuoteIdent quotes s as a SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
