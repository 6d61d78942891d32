package parse_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
)

// TestSummary: repeated errors become one sentence each; a format mismatch
// on every line asks about --format.
func TestSummary(t *testing.T) {
	v5 := "5 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK vpc-1 subnet-1\n"
	good := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"
	badPort := "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 x 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"
	for _, tc := range []struct {
		name    string
		in      string
		printed int
		want    []string
	}{
		{name: "all lines wrong format", in: strings.Repeat(v5, 200000), printed: 10, want: []string{
			"all 200,000 lines have 16 fields; the format has 14: does the file need --format?",
			"199,990 rejected lines were not printed one by one",
		}},
		{name: "some lines", in: good + v5 + badPort + badPort + good, printed: 3, want: []string{
			`2 of 5 lines: field srcport: not a number (first: in:3: field srcport: not a number "x")`,
			"1 of 5 lines has 16 fields; the format has 14 (first: in:2: wrong number of fields (16 fields, format has 14))",
		}},
		{name: "clean", in: good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s parse.Summary
			printed := 0
			r := parse.NewBytesReader([]byte(tc.in), parse.Options{Name: "in", OnBadLine: func(e *parse.LineError) {
				if s.Add(e) {
					printed++
				}
			}})
			for r.Next() {
			}
			r.Release()
			if diff := cmp.Diff(s.Report(r.Stats()), tc.want); diff != "" {
				t.Errorf("report (-got +want):\n%s", diff)
			}
			if printed != tc.printed {
				t.Errorf("printed %d, want %d", printed, tc.printed)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 200000: "200,000", -1234567: "-1,234,567"} {
		if got := parse.Group(n); got != want {
			t.Errorf("Group(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestHeaderFormat(t *testing.T) {
	for line, want := range map[string]string{
		"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status": parse.DefaultFormatString,
		"interface-id srcaddr start new-field\r":                                        "${interface-id} ${srcaddr} ${start} ${new-field}",
		"eni-0a1b2c3d4e5f60011 10.0.11.50 203.0.113.1 100 1795132800 1795132860 ACCEPT": "", // a record whose first field is a string
		"2 123456789010 eni-1 - - - - - - - 1 2 - NODATA":                               "",
		"account_id srcaddr": "", // column names are not a header
		"":                   "",
	} {
		fm, ok := parse.HeaderFormat([]byte(line))
		got := ""
		if ok {
			got = fm.String()
		}
		if got != want {
			t.Errorf("HeaderFormat(%q) = %q, want %q", line, got, want)
		}
	}
}
