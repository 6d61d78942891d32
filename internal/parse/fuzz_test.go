package parse_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/parse"
)

var fuzzFormats = []string{
	parse.DefaultFormatString,
	"${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${tcp-flags} ${type}",
	"${srcaddr} ${bytes} ${action} ${log-status} ${traffic-path}",
}

// FuzzReader checks, for any input: no panic; every column as long as its
// batch; counters add up; JSON output is valid; and parse → text → parse
// gives the same records (the round trip through the text encoder).
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data, uint8(0))
		}
	}
	f.Add([]byte("10.0.0.1 5 ACCEPT OK 1\n- - - - -\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		fm := parse.MustParseFormat(fuzzFormats[int(which)%len(fuzzFormats)])
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var bad int64
		r := parse.NewBytesReader(data, parse.Options{Format: fm, Allocator: mem, BatchSize: 7, MaxLineBytes: 4096,
			OnBadLine: func(e *parse.LineError) {
				bad++
				if e.Line < 1 || e.Error() == "" {
					t.Fatalf("bad line error without a line: %+v", e)
				}
			}})
		defer r.Release()
		var text, js []byte
		var firstJSON [][]byte
		for r.Next() {
			rec := r.RecordBatch()
			checkColumns(t, rec)
			enc := parse.NewEncoder(rec)
			text = append(text, r.Format().Header()...)
			text = append(text, '\n')
			for i := 0; i < int(rec.NumRows()); i++ {
				js = enc.AppendJSON(js[:0], i)
				if !json.Valid(js) {
					t.Fatalf("invalid JSON %q", js)
				}
				firstJSON = append(firstJSON, bytes.Clone(js))
				text = enc.AppendText(text, i)
				text = append(text, '\n')
			}
		}
		st := r.Stats()
		if st.BadLines != bad || st.Bytes != int64(len(data)) || st.Records+st.BadLines+st.Blank+st.Headers != st.Lines {
			t.Fatalf("stats do not add up: %+v (bad seen %d, input %d bytes)", st, bad, len(data))
		}
		// Round trip: the re-encoded records parse to the same JSON, with no
		// rejected line.
		r2 := parse.NewBytesReader(text, parse.Options{Format: fm, OnBadLine: func(e *parse.LineError) {
			t.Fatalf("re-encoded line rejected: %v\n%s", e, text)
		}})
		defer r2.Release()
		n := 0
		for r2.Next() {
			rec := r2.RecordBatch()
			enc := parse.NewEncoder(rec)
			for i := 0; i < int(rec.NumRows()); i++ {
				if n >= len(firstJSON) {
					t.Fatalf("round trip made more records than %d", len(firstJSON))
				}
				if got := enc.AppendJSON(nil, i); !bytes.Equal(got, firstJSON[n]) {
					t.Fatalf("round trip record %d:\n got %s\nwant %s", n, got, firstJSON[n])
				}
				n++
			}
		}
		if n != len(firstJSON) {
			t.Fatalf("round trip gave %d records, want %d", n, len(firstJSON))
		}
	})
}
