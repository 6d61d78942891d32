package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/source"
)

// TestReport checks the lines flowq ingest prints: a failed input by name,
// the totals with only the counts that are not zero.
func TestReport(t *testing.T) {
	var out, errs strings.Builder
	r := NewReport(&out, &errs, []*source.Input{{Size: 10}, {Size: 20}, {Size: 30}}, false)
	ok := source.Stats{Stats: parse.Stats{Records: 12345, NoData: 2, Bytes: 2000}, Stored: 1536}
	for _, res := range []InputResult{
		{Info: source.Info{Name: "a.log"}, Stats: ok},
		{Info: source.Info{Name: "b.log"}, Skipped: "stored"},
		{Info: source.Info{Name: "c.bin"}, Err: errors.New("not flow logs")},
	} {
		if err := r.Input(res); err != nil {
			t.Fatal(err)
		}
	}
	r.BadLine(&parse.LineError{File: "a.log", Line: 3, Field: "start", Value: "x", Detail: "not a number"})
	r.Summary("file:///lake")
	if want := "flowq: c.bin: not flow logs; nothing of it was stored\n"; !strings.HasPrefix(errs.String(), want) {
		t.Errorf("stderr %q, want it to start with %q", errs.String(), want)
	}
	if !strings.Contains(errs.String(), "a.log:3") {
		t.Errorf("stderr %q does not report the bad line", errs.String())
	}
	want := "ingested 1 of 3 inputs into file:///lake: 12,345 records (2 NODATA, 0 SKIPDATA), 0 bad lines, 1 already stored, 1 rejected\n  read 1.5 kB (2 kB of flow-log text) in "
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("stdout:\n%q\nwant it to start with\n%q", out.String(), want)
	}
}
