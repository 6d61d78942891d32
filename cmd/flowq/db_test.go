package main

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openTestDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := openDuckDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestInCIDR(t *testing.T) {
	db := openTestDuckDB(t)
	tests := []struct {
		addr, cidr any
		want       sql.NullBool
	}{
		{"10.0.11.5", "10.0.11.0/24", sql.NullBool{Bool: true, Valid: true}},
		{"10.0.110.5", "10.0.11.0/24", sql.NullBool{Valid: true}}, // what LIKE '10.0.11%' gets wrong
		{"10.0.11.255", "10.0.11.0/24", sql.NullBool{Bool: true, Valid: true}},
		{"10.0.12.0", "10.0.11.0/24", sql.NullBool{Valid: true}},
		{"10.0.11.5", "10.0.11.77/24", sql.NullBool{Bool: true, Valid: true}}, // host bits ignored
		{"203.0.113.77", "0.0.0.0/0", sql.NullBool{Bool: true, Valid: true}},
		{"10.0.11.5", "10.0.11.5/32", sql.NullBool{Bool: true, Valid: true}},
		{"10.0.11.6", "10.0.11.5/32", sql.NullBool{Valid: true}},
		{"10.0.11.5", "10.0.11.5", sql.NullBool{Bool: true, Valid: true}}, // bare address = /32
		{"255.255.255.255", "255.0.0.0/8", sql.NullBool{Bool: true, Valid: true}},
		{"10.0.11.256", "10.0.0.0/8", sql.NullBool{Valid: true}}, // not an address
		{"10.0.11", "10.0.0.0/8", sql.NullBool{Valid: true}},
		{"2001:db8::5", "2001:db8::/64", sql.NullBool{Bool: true, Valid: true}},
		{"2001:db8:0:1::5", "2001:db8::/64", sql.NullBool{Valid: true}},
		{"2001:DB8:0:0:0:0:0:5", "2001:db8::/64", sql.NullBool{Bool: true, Valid: true}}, // non-canonical text
		{"2001:db8::5", "::/0", sql.NullBool{Bool: true, Valid: true}},
		{"2001:db8::5", "10.0.0.0/8", sql.NullBool{Valid: true}}, // other family
		{"10.0.11.5", "2001:db8::/64", sql.NullBool{Valid: true}},
		{"::ffff:10.0.11.5", "10.0.11.0/24", sql.NullBool{Valid: true}}, // IPv4 prefix: IPv4 text only
		{"-", "10.0.11.0/24", sql.NullBool{}},
		{nil, "10.0.11.0/24", sql.NullBool{}},
		{"10.0.11.5", nil, sql.NullBool{}},
	}
	for _, tt := range tests {
		var got sql.NullBool
		if err := db.QueryRow("SELECT in_cidr(?::VARCHAR, ?::VARCHAR)", tt.addr, tt.cidr).Scan(&got); err != nil {
			t.Fatalf("in_cidr(%v, %v): %v", tt.addr, tt.cidr, err)
		}
		if got != tt.want {
			t.Errorf("in_cidr(%v, %v) = %+v, want %+v", tt.addr, tt.cidr, got, tt.want)
		}
	}
	var subnet string
	if err := db.QueryRow("SELECT ip4_subnet('10.0.11.77', 24) || ' ' || ip4_subnet('2001:db8::1', 24) || ' ' || ip4_subnet('10.0.11.77', 0)").Scan(&subnet); err != nil {
		t.Fatal(err)
	}
	if want := "10.0.11.0/24 2001:db8::1 0.0.0.0/0"; subnet != want {
		t.Errorf("ip4_subnet = %q, want %q", subnet, want)
	}
}

func TestWriteRows(t *testing.T) {
	db := openTestDuckDB(t)
	const q = `SELECT * FROM (VALUES ('10.0.11.5', 1536::BIGINT, 12345::BIGINT, TIMESTAMPTZ '2026-11-20 08:00:00+00', NULL::VARCHAR, 'a|b'),
		('2001:db8::5', 10::BIGINT, 7::BIGINT, TIMESTAMPTZ '2026-11-20 09:00:00+00', 'x"y', 'c'))
		AS t(srcaddr, bytes, packets, first_seen, note, pipe)`
	tests := []struct {
		format string
		width  int
		want   string
	}{
		{outTable, 0, "" +
			"srcaddr      bytes    packets  first_seen           note  pipe\n" +
			"-----------  -------  -------  -------------------  ----  ----\n" +
			"10.0.11.5    1.5 KiB   12,345  2026-11-20 08:00:00        a|b\n" +
			"2001:db8::5     10 B        7  2026-11-20 09:00:00  x\"y   c\n"},
		{outTable, 40, "" +
			"srcaddr   bytes    packets  first_s…  note  pipe\n" +
			"--------  -------  -------  --------  ----  ----\n" +
			"10.0.11…  1.5 KiB   12,345  2026-11…        a|b\n" +
			"2001:db…     10 B        7  2026-11…  x\"y   c\n"},
		{outCSV, 0, "srcaddr,bytes,packets,first_seen,note,pipe\n10.0.11.5,1536,12345,2026-11-20T08:00:00Z,,a|b\n2001:db8::5,10,7,2026-11-20T09:00:00Z,\"x\"\"y\",c\n"},
		{outJSON, 0, `{"srcaddr":"10.0.11.5","bytes":1536,"packets":12345,"first_seen":"2026-11-20T08:00:00Z","note":null,"pipe":"a|b"}` + "\n" +
			`{"srcaddr":"2001:db8::5","bytes":10,"packets":7,"first_seen":"2026-11-20T09:00:00Z","note":"x\"y","pipe":"c"}` + "\n"},
		{outMarkdown, 0, "| srcaddr | bytes | packets | first_seen | note | pipe |\n|---|---:|---:|---|---|---|\n" +
			"| 10.0.11.5 | 1536 | 12345 | 2026-11-20T08:00:00Z |  | a\\|b |\n| 2001:db8::5 | 10 | 7 | 2026-11-20T09:00:00Z | x\"y | c |\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+time.Duration(tt.width).String(), func(t *testing.T) {
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var buf bytes.Buffer
			n, err := writeRows(&buf, rows, outputOptions{Format: tt.format, Width: tt.width})
			if err != nil || n != 2 {
				t.Fatalf("n = %d, err = %v", n, err)
			}
			if diff := cmp.Diff(strings.Split(buf.String(), "\n"), strings.Split(tt.want, "\n")); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}

func TestWriteRowsTypes(t *testing.T) {
	db := openTestDuckDB(t)
	rows, err := db.Query(`SELECT 1.50::DECIMAL(10,2) AS d, sum(x) AS h, 2.5::DOUBLE AS f, true AS b, [1, 2] AS l FROM (VALUES (1::BIGINT), (2::BIGINT)) t(x)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	if _, err := writeRows(&buf, rows, outputOptions{Format: outJSON}); err != nil {
		t.Fatal(err)
	}
	if want := `{"d":1.5,"h":3,"f":2.5,"b":true,"l":[1,2]}` + "\n"; buf.String() != want {
		t.Errorf("got %s, want %s", buf.String(), want)
	}
}

func TestParseTimeRange(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		since, until string
		want         timeRange
		wantErr      string
	}{
		{"2h", "", timeRange{Since: now.Add(-2 * time.Hour)}, ""},
		{"7d", "1d", timeRange{Since: now.AddDate(0, 0, -7), Until: now.AddDate(0, 0, -1)}, ""},
		{"1w", "", timeRange{Since: now.AddDate(0, 0, -7)}, ""},
		{"1d12h", "", timeRange{Since: now.Add(-36 * time.Hour)}, ""},
		{"90m", "", timeRange{Since: now.Add(-90 * time.Minute)}, ""},
		{"2026-11-20T08:00:00Z", "2026-11-20T10:00:00+01:00", timeRange{Since: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}, ""},
		{"2026-11-20", "", timeRange{Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, ""},
		{"1795132800", "", timeRange{Since: time.Unix(1795132800, 0).UTC()}, ""},
		{"yesterday", "", timeRange{}, "--since: cannot read \"yesterday\""},
		{"-2h", "", timeRange{}, "--since"},
		{"", "2h", timeRange{Until: now.Add(-2 * time.Hour)}, ""},
		{"1h", "2h", timeRange{}, "empty time range"},
	}
	for _, tt := range tests {
		got, err := parseTimeRange(tt.since, tt.until, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("(%q, %q): err = %v, want %q", tt.since, tt.until, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("(%q, %q): %v", tt.since, tt.until, err)
			continue
		}
		if !got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) {
			t.Errorf("(%q, %q) = %v, want %v", tt.since, tt.until, got, tt.want)
		}
	}
}
