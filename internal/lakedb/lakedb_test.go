package lakedb_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// Hand-written records in the shape of AWS's documented examples: a v2
// lake hour and, an hour later, a v5 custom format with pkt-srcaddr and
// flow-direction.
const (
	v2Text = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1795161610 1795161670 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1795161630 1795161690 REJECT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1795161700 1795161760 - NODATA
`
	v5Text = `version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status flow-direction traffic-path
5 vpc-0a1b2c3d subnet-0aa1 i-01234567890123456 eni-0f1e2d3c4b5a69788 123456789010 IPv4 10.0.1.5 203.0.113.5 43416 443 10.0.1.5 203.0.113.5 6 5060 12 1795165210 1795165270 ACCEPT 3 OK egress 8
5 vpc-0a1b2c3d subnet-0aa1 - eni-0aaaaaaaaaaaaaaaa 123456789010 IPv4 10.0.0.220 203.0.113.5 43416 443 10.0.1.5 203.0.113.5 6 5060 12 1795165220 1795165280 ACCEPT 3 OK egress 8
`
)

// hour0 is the UTC hour of v2Text's records (1795161610 = 2026-11-20 08:00:10).
var hour0 = time.Unix(1795161600, 0).UTC()

// writeLake ingests texts into a new local lake, one batch each.
func writeLake(t *testing.T, texts ...string) *store.Lake {
	t.Helper()
	ctx := context.Background()
	lake, err := store.Open(ctx, t.TempDir(), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		addBatch(t, lake, fmt.Sprintf("batch-%d", i), text)
	}
	return lake
}

func addBatch(t *testing.T, lake *store.Lake, id, text string) {
	t.Helper()
	r := parse.NewBytesReader([]byte(text), parse.Options{})
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	if _, err := lake.Write(context.Background(), id, recs); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, lake *store.Lake, tr store.TimeRange) *sql.DB {
	t.Helper()
	d, err := lakedb.Open(context.Background(), lake, tr, lakedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.SQL()
}

// schemaOf returns the flows view's columns as DuckDB describes them.
func schemaOf(t *testing.T, db *sql.DB) []lakedb.Column {
	t.Helper()
	rows, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE flows)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []lakedb.Column
	for rows.Next() {
		var c lakedb.Column
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestFlowsSchema: one schema whatever the lake and the range: every
// flow-log column with AWS's type, NULL where a file lacks it, and INTEGER
// partition columns. The old view took its columns from the files in range
// (no pkt_srcaddr over a v2 hour, hour VARCHAR) or, over an empty range,
// from the default format.
func TestFlowsSchema(t *testing.T) {
	want := lakedb.Columns()
	if n := len(parse.KnownFields()) + 4; len(want) != n {
		t.Fatalf("Columns() has %d columns, want %d", len(want), n)
	}
	for _, c := range want[len(want)-4:] {
		if c.Type != "INTEGER" {
			t.Errorf("partition column %s is %s", c.Name, c.Type)
		}
	}
	lake := writeLake(t, v2Text, v5Text)
	ranges := map[string]store.TimeRange{
		"all":        {},
		"v2 hour":    {Since: hour0, Until: hour0.Add(time.Hour)},
		"v5 hour":    {Since: hour0.Add(time.Hour), Until: hour0.Add(2 * time.Hour)},
		"empty hour": {Since: hour0.Add(5 * time.Hour), Until: hour0.Add(6 * time.Hour)},
	}
	for name, tr := range ranges {
		t.Run(name, func(t *testing.T) {
			db := open(t, lake, tr)
			if diff := cmp.Diff(schemaOf(t, db), want); diff != "" {
				t.Errorf("flows schema (-got +want):\n%s", diff)
			}
		})
	}
	t.Run("values", func(t *testing.T) {
		db := open(t, lake, store.TimeRange{})
		type row struct {
			Src, PktSrc, Dir       sql.NullString
			Port                   sql.NullInt32
			Year, Month, Day, Hour int32
		}
		rows, err := db.Query(`SELECT srcaddr, pkt_srcaddr, flow_direction, dstport, year, month, day, hour FROM flows ORDER BY start`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.Src, &r.PktSrc, &r.Dir, &r.Port, &r.Year, &r.Month, &r.Day, &r.Hour); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		s := func(v string) sql.NullString { return sql.NullString{String: v, Valid: true} }
		p := func(v int32) sql.NullInt32 { return sql.NullInt32{Int32: v, Valid: true} }
		want := []row{
			{s("172.31.16.139"), sql.NullString{}, sql.NullString{}, p(22), 2026, 11, 20, 8},
			{s("172.31.9.69"), sql.NullString{}, sql.NullString{}, p(3389), 2026, 11, 20, 8},
			{sql.NullString{}, sql.NullString{}, sql.NullString{}, sql.NullInt32{}, 2026, 11, 20, 8},
			{s("10.0.1.5"), s("10.0.1.5"), s("egress"), p(443), 2026, 11, 20, 9},
			{s("10.0.0.220"), s("10.0.1.5"), s("egress"), p(443), 2026, 11, 20, 9},
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("rows (-got +want):\n%s", diff)
		}
	})
}

// TestEmptyRange: a range without data is no rows and no error; a lake
// without any file is ErrEmpty.
func TestEmptyRange(t *testing.T) {
	lake := writeLake(t, v2Text)
	db := open(t, lake, store.TimeRange{Since: hour0.Add(-time.Hour), Until: hour0})
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM flows WHERE pkt_srcaddr IS NOT NULL OR "year" = 2026`).Scan(&n); err != nil || n != 0 {
		t.Errorf("count = %d, %v; want 0, nil", n, err)
	}
	empty, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lakedb.Open(context.Background(), empty, store.TimeRange{}, lakedb.Options{}); err == nil || !strings.Contains(err.Error(), "the lake is empty") {
		t.Errorf("empty lake: err = %v", err)
	}
}

// TestRange: rows are those whose start lies in [Since, Until).
func TestRange(t *testing.T) {
	lake := writeLake(t, v2Text, v5Text)
	tests := []struct {
		tr   store.TimeRange
		want int
	}{
		{store.TimeRange{}, 5},
		{store.TimeRange{Since: time.Unix(1795161630, 0)}, 4},
		{store.TimeRange{Until: time.Unix(1795161630, 0)}, 1},
		{store.TimeRange{Since: time.Unix(1795161630, 0), Until: time.Unix(1795165220, 0)}, 3},
	}
	for _, tt := range tests {
		var n int
		if err := open(t, lake, tt.tr).QueryRow("SELECT count(*) FROM flows").Scan(&n); err != nil || n != tt.want {
			t.Errorf("%v: count = %d, %v; want %d", tt.tr, n, err, tt.want)
		}
	}
}

// TestSessionUTC: the session's time zone is UTC whatever TZ says; the old
// session followed the machine's zone.
func TestSessionUTC(t *testing.T) {
	t.Setenv("TZ", "America/New_York")
	db, err := lakedb.OpenSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tz, ts string
	if err := db.QueryRow(`SELECT current_setting('TimeZone'), to_timestamp(1795161610)::VARCHAR`).Scan(&tz, &ts); err != nil {
		t.Fatal(err)
	}
	if tz != "UTC" || ts != "2026-11-20 08:00:10+00" {
		t.Errorf("TimeZone = %q, to_timestamp = %q; want UTC, 2026-11-20 08:00:10+00", tz, ts)
	}
}

// TestForeignTypes: a file that stores a column under another type (a
// writer that made dstport and version BIGINT, bytes VARCHAR) still gives
// AWS's types in flows.
func TestForeignTypes(t *testing.T) {
	lake := writeLake(t, v2Text)
	db, err := lakedb.OpenSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := lake.Local() + "/year=2026/month=11/day=20/hour=08"
	if _, err := db.Exec(`COPY (SELECT 2::BIGINT AS version, '10.0.0.1' AS srcaddr, 443::BIGINT AS dstport, '1500' AS bytes,
		1795161611::BIGINT AS start, 'ACCEPT' AS action) TO '` + dir + `/x.parquet' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	s := open(t, lake, store.TimeRange{})
	if diff := cmp.Diff(schemaOf(t, s), lakedb.Columns()); diff != "" {
		t.Errorf("schema (-got +want):\n%s", diff)
	}
	var n, port, bytes int64
	if err := s.QueryRow(`SELECT count(*), sum(dstport) FILTER (WHERE srcaddr = '10.0.0.1'), sum(bytes) FROM flows`).Scan(&n, &port, &bytes); err != nil {
		t.Fatal(err)
	}
	if n != 4 || port != 443 || bytes != 4249*2+1500 {
		t.Errorf("count %d, port %d, bytes %d; want 4, 443, %d", n, port, bytes, 4249*2+1500)
	}
}
