package render

import (
	"bytes"
	"context"
	"database/sql"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"
)

func TestBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1 kB"}, {1536, "1.5 kB"}, {999_499, "999 kB"}, {999_949, "1 MB"}, {99_960, "100 kB"},
		{999_950, "1 MB"}, {50_000_000, "50 MB"}, {123_456_789, "123 MB"}, {-2500, "-2.5 kB"},
		{1 << 62, "4.6 EB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

var (
	t0   = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	cols = []string{"srcaddr", "bytes", "packets", "first_seen", "note", "pipe"}
	rows = [][]any{
		{"10.0.11.5", int64(1536), int64(12345), t0, nil, "a|b"},
		{"2001:db8::5", int64(10), int64(7), t0.Add(time.Hour), `x"y`, "c"},
	}
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"table", Options{Format: Table}, "" +
			"srcaddr      bytes   packets  first_seen (UTC)     note  pipe\n" +
			"-----------  ------  -------  -------------------  ----  ----\n" +
			"10.0.11.5    1.5 kB   12,345  2026-11-20 08:00:00        a|b\n" +
			"2001:db8::5    10 B        7  2026-11-20 09:00:00  x\"y   c\n"},
		{"raw", Options{Format: Table, Raw: true}, "" +
			"srcaddr      bytes  packets  first_seen (UTC)     note  pipe\n" +
			"-----------  -----  -------  -------------------  ----  ----\n" +
			"10.0.11.5     1536    12345  2026-11-20 08:00:00        a|b\n" +
			"2001:db8::5     10        7  2026-11-20 09:00:00  x\"y   c\n"},
		// Too narrow: nothing is cut; columns are left out from the right
		// and named.
		{"narrow", Options{Format: Table, Width: 50}, "" +
			"srcaddr      bytes   packets  first_seen (UTC)\n" +
			"-----------  ------  -------  -------------------\n" +
			"10.0.11.5    1.5 kB   12,345  2026-11-20 08:00:00\n" +
			"2001:db8::5    10 B        7  2026-11-20 09:00:00\n" +
			"(2 columns left out to fit 50 characters: note, pipe; use -o csv or -o json, or a wider terminal, to see them)\n"},
		{"csv", Options{Format: CSV}, "srcaddr,bytes,packets,first_seen,note,pipe\n10.0.11.5,1536,12345,2026-11-20T08:00:00Z,,a|b\n2001:db8::5,10,7,2026-11-20T09:00:00Z,\"x\"\"y\",c\n"},
		{"json", Options{Format: JSON}, `{"srcaddr":"10.0.11.5","bytes":1536,"packets":12345,"first_seen":"2026-11-20T08:00:00Z","note":null,"pipe":"a|b"}` + "\n" +
			`{"srcaddr":"2001:db8::5","bytes":10,"packets":7,"first_seen":"2026-11-20T09:00:00Z","note":"x\"y","pipe":"c"}` + "\n"},
		{"markdown", Options{Format: Markdown}, "| srcaddr | bytes | packets | first_seen | note | pipe |\n|---|---:|---:|---|---|---|\n" +
			"| 10.0.11.5 | 1536 | 12345 | 2026-11-20T08:00:00Z |  | a\\|b |\n| 2001:db8::5 | 10 | 7 | 2026-11-20T09:00:00Z | x\"y | c |\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, cols, rows, tt.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.Split(buf.String(), "\n"), strings.Split(tt.want, "\n")); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}

// TestNeverCut: at any width, every address, id and timestamp of an alert
// table is shown whole or its column is named as left out; prose wraps at
// spaces. The old table cut the widest text columns with "…".
func TestNeverCut(t *testing.T) {
	cols := []string{"alert_id", "time", "eni", "srcaddr", "dstaddr", "bytes", "summary"}
	rows := [][]any{
		{"a-7f3e2c9d41b0a8e6", t0, "eni-0f1e2d3c4b5a69788", "2001:db8:1234:5678:9abc:def0:1234:5678", "203.0.113.77", int64(61_234_567), "10.0.11.23 sent 61 MB to 203.0.113.77 over 40 minutes, above the 50 MB threshold"},
		{"a-00000000000000a1", t0.Add(time.Minute), "eni-0aaaaaaaaaaaaaaaa", "10.0.12.9", "10.0.11.23", int64(0), "port scan: 41 ports in 60 s"},
	}
	whole := []string{"a-7f3e2c9d41b0a8e6", "a-00000000000000a1", "2026-11-20 08:00:00", "2026-11-20 08:01:00", "eni-0f1e2d3c4b5a69788", "eni-0aaaaaaaaaaaaaaaa",
		"2001:db8:1234:5678:9abc:def0:1234:5678", "203.0.113.77", "10.0.12.9", "10.0.11.23", "61.2 MB"}
	for _, width := range []int{0, 200, 160, 120, 100, 80, 60, 40, 20} {
		var buf bytes.Buffer
		if err := Write(&buf, cols, rows, Options{Format: Table, Width: width}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "…") {
			t.Errorf("width %d: a value was cut:\n%s", width, out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		note := ""
		if strings.HasPrefix(lines[len(lines)-1], "(") {
			note = lines[len(lines)-1]
			lines = lines[:len(lines)-1]
		}
		for _, l := range lines {
			// A single value wider than the terminal still shows whole.
			if width > 0 && runes(l) > width && !strings.Contains(l, "2001:db8:1234") && !strings.Contains(l, "alert_id") {
				t.Errorf("width %d: line of %d runes: %q", width, runes(l), l)
			}
		}
		for _, v := range whole {
			if !strings.Contains(out, v) && !droppedColumnHas(note, cols, rows, v) {
				t.Errorf("width %d: %q neither shown whole nor its column named as left out:\n%s", width, v, out)
			}
		}
		for _, word := range strings.Fields("10.0.11.23 sent 61 MB to 203.0.113.77 over 40 minutes, above the 50 MB threshold") {
			if !strings.Contains(out, word) && !strings.Contains(note, "summary") {
				t.Errorf("width %d: summary word %q lost:\n%s", width, word, out)
			}
		}
	}
}

// droppedColumnHas reports whether v belongs to a column the note names.
func droppedColumnHas(note string, cols []string, rows [][]any, v string) bool {
	for i, c := range cols {
		if !strings.Contains(note, c) {
			continue
		}
		for _, r := range rows {
			if strings.Contains(tableText(c, r[i], false), v) {
				return true
			}
		}
	}
	return false
}

// TestDropOrder: when columns must go, protocol numbers and source ports
// go before bytes and actions.
func TestDropOrder(t *testing.T) {
	cols := []string{"start", "interface_id", "srcaddr", "srcport", "dstaddr", "dstport", "protocol", "packets", "bytes", "action"}
	rows := [][]any{{t0, "eni-0a1b2c3d4e5f60011", "10.0.11.50", int32(43512), "203.0.113.77", int32(443), int32(6), int64(140), int64(200_000), "ACCEPT"}}
	var buf bytes.Buffer
	if err := Write(&buf, cols, rows, Options{Format: Table, Width: 105}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if want := "(2 columns left out to fit 105 characters: srcport, protocol; use -o csv or -o json, or a wider terminal, to see them)"; lines[3] != want {
		t.Errorf("got\n%s\nwant last line %q", buf.String(), want)
	}
}

func TestSQLRowsTypes(t *testing.T) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	r, err := db.QueryContext(context.Background(), `SELECT 1.50::DECIMAL(10,2) AS d, sum(x) AS h, 2.5::DOUBLE AS f, true AS b, [1, 2] AS l FROM (VALUES (1::BIGINT), (2::BIGINT)) t(x)`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if n, err := SQLRows(&buf, r, Options{Format: JSON}); err != nil || n != 1 {
		t.Fatalf("n = %d, err = %v", n, err)
	}
	if want := `{"d":1.5,"h":3,"f":2.5,"b":true,"l":[1,2]}` + "\n"; buf.String() != want {
		t.Errorf("got %s, want %s", buf.String(), want)
	}
	if got := plainText(big.NewInt(7)); got != "7" {
		t.Errorf("plainText(big 7) = %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"table": Table, "csv": CSV, "json": JSON, "jsonl": JSON, "ndjson": JSON, "markdown": Markdown, "md": Markdown} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "want table, csv, json or markdown") {
		t.Errorf("ParseFormat(yaml): %v", err)
	}
}
