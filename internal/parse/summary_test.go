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
