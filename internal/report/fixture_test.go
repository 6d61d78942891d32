package report

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// fixture is a lake made from flow-log text files, a lakedb session over
// it (the report's input) and, in the same session, a view raw over the
// very same text read by DuckDB's CSV reader: the tests' independent
// oracle never goes through the parser, the Parquet writer or the view.
type fixture struct {
	db    *lakedb.DB
	lake  *store.Lake
	texts []string
}

// sql is the session.
func (f *fixture) sql() *sql.DB { return f.db.SQL() }

// newFixture writes each text (a header line, then records) into a new
// lake and opens a session over tr.
func newFixture(t testing.TB, texts []string, tr store.TimeRange) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	lake, err := store.Open(ctx, filepath.Join(dir, "lake"), store.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for i, text := range texts {
		name := filepath.Join(dir, fmt.Sprintf("flows-%d.log", i))
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
		r := parse.NewBytesReader([]byte(text), parse.Options{Name: name})
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if st := r.Stats(); st.BadLines > 0 {
			t.Fatalf("%s: %d bad lines", name, st.BadLines)
		}
		if _, err := lake.Write(ctx, name, recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			r.Release()
		}
	}
	db, err := lakedb.Open(ctx, lake, tr, lakedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + f + "'"
	}
	// Every column as text under the header's name, '-' as NULL.
	raw := `CREATE VIEW raw_text AS SELECT * FROM read_csv([` + strings.Join(quoted, ", ") + `], delim = ' ', header = true,
		all_varchar = true, nullstr = '-', union_by_name = true, auto_detect = true)`
	if _, err := db.SQL().ExecContext(ctx, raw); err != nil {
		t.Fatalf("raw view: %v", err)
	}
	return &fixture{db: db, lake: lake, texts: texts}
}

// rawColumn returns the oracle's expression for a column of the text,
// typed, or a typed NULL when no file has it.
func rawColumns(t testing.TB, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query("SELECT column_name FROM (DESCRIBE raw_text)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		have[c] = true
	}
	return have
}

// createRaw makes the view raw: the text's columns under AWS's Parquet
// names and types.
func createRaw(t testing.TB, db *sql.DB) {
	t.Helper()
	have := rawColumns(t, db)
	col := func(names []string, typ string) string {
		for _, n := range names {
			if have[n] {
				return fmt.Sprintf("CAST(%q AS %s)", n, typ)
			}
		}
		return "NULL::" + typ
	}
	sel := []string{
		col([]string{"version"}, "INTEGER") + " AS version",
		col([]string{"interface-id"}, "VARCHAR") + " AS interface_id",
		col([]string{"srcaddr"}, "VARCHAR") + " AS srcaddr",
		col([]string{"dstaddr"}, "VARCHAR") + " AS dstaddr",
		col([]string{"srcport"}, "INTEGER") + " AS srcport",
		col([]string{"dstport"}, "INTEGER") + " AS dstport",
		col([]string{"protocol"}, "INTEGER") + " AS protocol",
		col([]string{"packets"}, "BIGINT") + " AS packets",
		col([]string{"bytes"}, "BIGINT") + " AS bytes",
		col([]string{"start"}, "BIGINT") + " AS start",
		col([]string{"action"}, "VARCHAR") + " AS action",
		col([]string{"log-status"}, "VARCHAR") + " AS log_status",
		col([]string{"flow-direction"}, "VARCHAR") + " AS flow_direction",
		col([]string{"traffic-path"}, "INTEGER") + " AS traffic_path",
		col([]string{"pkt-dst-aws-service"}, "VARCHAR") + " AS pkt_dst_aws_service",
	}
	if _, err := db.Exec("CREATE OR REPLACE VIEW raw AS SELECT " + strings.Join(sel, ", ") + " FROM raw_text"); err != nil {
		t.Fatalf("raw: %v", err)
	}
}

// day is the fixed UTC day of the fixtures.
var day = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// dayText is a synthetic day of the reference network's traffic with its
// four incidents, in the detectors' format (version 5 fields).
func dayText(seed uint64, start time.Time, n int) string {
	text, _ := synth.Scenario(seed, synth.DetectFormat, start, 24*time.Hour, n, start.Add(14*time.Hour))
	return string(text)
}

// awsDefaultText are records of AWS's default format, from AWS's
// documented examples: accepted and rejected SSH, RDP, NODATA, SKIPDATA.
const awsDefaultText = `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1795136410 1795136470 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1795136410 1795136470 REJECT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1795140010 1795140070 - NODATA
2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1795143610 1795143670 - SKIPDATA
2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1795147210 1795147270 REJECT OK
`

// awsV5Text are version 5 records (AWS's documented egress and ingress
// examples with flow-direction, traffic-path and an AWS service).
const awsV5Text = `version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path pkt-dst-aws-service
5 eni-0b2c3d4e5f6a7b8c9 10.0.1.5 52.95.110.1 47284 443 6 40 12000 1795151000 1795151060 ACCEPT OK egress 2 S3
5 eni-0b2c3d4e5f6a7b8c9 52.95.110.1 10.0.1.5 443 47284 6 38 98000 1795151000 1795151060 ACCEPT OK ingress - -
5 eni-0b2c3d4e5f6a7b8c9 10.0.1.5 198.51.100.7 40000 443 6 10 3000 1795154600 1795154660 ACCEPT OK egress 8 -
5 eni-0b2c3d4e5f6a7b8c9 10.0.1.5 10.0.2.9 40001 5432 6 5 400 1795154600 1795154660 REJECT OK egress 1 -
`

// fixtureAlerts runs the detectors (flowq detect's defaults) over the
// fixture's lake.
func fixtureAlerts(t testing.TB, f *fixture) []detect.Alert {
	t.Helper()
	as, err := Detect(context.Background(), f.lake, store.TimeRange{}, historyConfig())
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// historyConfig is flowq detect's: the Lambda's defaults, nothing late.
func historyConfig() detect.Config {
	c := detect.DefaultConfig()
	c.Retention = 0
	return c
}
