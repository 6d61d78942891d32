package synth

import (
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/parse"
)

// TestWithReplies: an ACCEPTed record gets its reply after it, written by
// hand; REJECTed and NODATA records and the header none.
func TestWithReplies(t *testing.T) {
	in := DetectFormat.Header() + "\n" +
		"5 123456789012 eni-1 10.0.11.50 10.0.21.100 43512 5432 6 10 900 1700000000 1700000030 ACCEPT OK vpc-1 subnet-1 2 IPv4 10.0.11.50 10.0.21.100 - egress\n" +
		"5 123456789012 eni-2 198.18.0.7 10.0.1.25 40000 22 6 1 44 1700000000 1700000030 REJECT OK vpc-1 subnet-2 2 IPv4 198.18.0.7 10.0.1.25 - ingress\n" +
		"5 123456789012 eni-3 - - - - - - - 1700000000 1700000060 - NODATA vpc-1 subnet-3 - - - - - -\n"
	want := DetectFormat.Header() + "\n" +
		"5 123456789012 eni-1 10.0.11.50 10.0.21.100 43512 5432 6 10 900 1700000000 1700000030 ACCEPT OK vpc-1 subnet-1 2 IPv4 10.0.11.50 10.0.21.100 - egress\n" +
		"5 123456789012 eni-1 10.0.21.100 10.0.11.50 5432 43512 6 10 900 1700000000 1700000030 ACCEPT OK vpc-1 subnet-1 18 IPv4 10.0.21.100 10.0.11.50 - ingress\n" +
		"5 123456789012 eni-2 198.18.0.7 10.0.1.25 40000 22 6 1 44 1700000000 1700000030 REJECT OK vpc-1 subnet-2 2 IPv4 198.18.0.7 10.0.1.25 - ingress\n" +
		"5 123456789012 eni-3 - - - - - - - 1700000000 1700000060 - NODATA vpc-1 subnet-3 - - - - - -\n"
	if got := string(WithReplies(DetectFormat, []byte(in))); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A generated day: every record parses, and the ACCEPTed ones are
	// doubled.
	day, _ := Scenario(3, DetectFormat, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), 24*time.Hour, 2000, time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC))
	accepted := strings.Count(string(day), " ACCEPT OK ")
	text := WithReplies(DetectFormat, day)
	rd := parse.NewBytesReader(text, parse.Options{Format: DetectFormat})
	defer rd.Release()
	recs, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	if st := rd.Stats(); st.BadLines != 0 || st.Records != st.Lines-st.Headers-st.Blank || st.Lines != int64(strings.Count(string(day), "\n")+accepted) {
		t.Errorf("%+v: want %d lines", st, strings.Count(string(day), "\n")+accepted)
	}
}
