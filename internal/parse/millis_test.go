package parse_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
)

// TestMillisecondTimestamps: start/end in epoch milliseconds (AWS has
// emitted them; flowlogs-reader normalises them too) are stored as seconds;
// seconds stay as they are; a value too large even for milliseconds is out
// of range. The records are AWS's documented default-format example with
// the timestamps rewritten.
func TestMillisecondTimestamps(t *testing.T) {
	const rec = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 %s %s ACCEPT OK"
	for _, tc := range []struct {
		name, start, end string
		want             [2]int64
		millis           int64
		bad              bool
	}{
		{name: "seconds", start: "1418530010", end: "1418530070", want: [2]int64{1418530010, 1418530070}},
		{name: "milliseconds", start: "1418530010000", end: "1418530070999", want: [2]int64{1418530010, 1418530070}, millis: 2},
		{name: "mixed", start: "1418530010", end: "1418530070000", want: [2]int64{1418530010, 1418530070}, millis: 1},
		{name: "largest seconds", start: "99999999999", end: "99999999999", want: [2]int64{99999999999, 99999999999}},
		{name: "microseconds are out of range", start: "1418530010000000", end: "1418530070000000", bad: true},
		{name: "past int64", start: "99999999999999999999", end: "1", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := strings.Replace(strings.Replace(rec, "%s", tc.start, 1), "%s", tc.end, 1)
			var errs []string
			r := parse.NewBytesReader([]byte(line+"\n"), parse.Options{OnBadLine: func(e *parse.LineError) { errs = append(errs, e.Error()) }})
			defer r.Release()
			var got [2]int64
			for r.Next() {
				rec := r.RecordBatch()
				sc := rec.Schema()
				got[0] = rec.Column(sc.FieldIndices("start")[0]).(*array.Int64).Value(0)
				got[1] = rec.Column(sc.FieldIndices("end")[0]).(*array.Int64).Value(0)
			}
			st := r.Stats()
			if tc.bad {
				if st.BadLines != 1 || st.ByReason[parse.ReasonRange] != 1 {
					t.Fatalf("want one range error, got %+v %v", st, errs)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("rejected: %v", errs)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("start, end (-got +want):\n%s", diff)
			}
			if st.Millis != tc.millis {
				t.Errorf("Stats.Millis = %d, want %d", st.Millis, tc.millis)
			}
		})
	}
}

// TestTruncatedGzip: a gzip stream cut short (no trailer, as an interrupted
// download leaves it) is an I/O error, not a quiet end of input. Before,
// io.ErrUnexpectedEOF counted as the end and the file ingested with exit 0.
func TestTruncatedGzip(t *testing.T) {
	var text bytes.Buffer
	for range 2000 {
		text.WriteString("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text.Bytes())
	zw.Close()
	for _, cut := range []int{8, 4, gz.Len() / 2} { // inside the trailer, inside it, mid-stream
		zr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()[:gz.Len()-cut]))
		if err != nil {
			t.Fatal(err)
		}
		r := parse.NewReader(zr, parse.Options{})
		for r.Next() {
		}
		if !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
			t.Errorf("cut %d bytes: Err() = %v, want io.ErrUnexpectedEOF", cut, r.Err())
		}
		r.Release()
	}
}
