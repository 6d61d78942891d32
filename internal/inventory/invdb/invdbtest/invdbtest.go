// Package invdbtest builds DuckDB sessions for tests of the inventory's SQL
// (invdb's views, the unused-rules query): flowq's macros, a flows table
// written by the test and the demo network's inventory tables.
package invdbtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/invdb"
	"github.com/flowq/flowq/internal/lakedb"
)

// Session opens a DuckDB session (closed when the test ends) with flowq's
// macros, a table flows of the columns given as SQL ("srcaddr VARCHAR,
// dstport INTEGER, ..."), holding rows (each row's values fill the first
// columns; the rest are null), and the demo network's inventory tables
// (invdb.Fill).
func Session(t testing.TB, columns string, rows [][]any) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := lakedb.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, "CREATE TABLE flows ("+columns+")"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range strings.Split(columns, ",") {
		names = append(names, strings.Fields(c)[0])
	}
	for _, r := range rows {
		q := "INSERT INTO flows (" + strings.Join(names[:len(r)], ", ") + ") VALUES (?" + strings.Repeat(", ?", len(r)-1) + ")"
		if _, err := db.ExecContext(ctx, q, r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := invdb.Fill(ctx, db, inventory.NewIndex(inventory.DemoSnapshot(time.Unix(0, 0)))); err != nil {
		t.Fatal(err)
	}
	return db
}

// Strings runs q and returns its first column, as strings.
func Strings(t testing.TB, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
