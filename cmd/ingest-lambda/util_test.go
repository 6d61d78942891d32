package main

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detectconfig"
	"github.com/flowq/flowq/internal/parse"
)

type arrowRecord = arrow.RecordBatch

// jsonRows renders a batch's rows as JSON objects.
func jsonRows(rec arrow.RecordBatch) []string {
	enc := parse.NewEncoder(rec)
	out := make([]string, rec.NumRows())
	var buf []byte
	for i := range out {
		buf = enc.AppendJSON(buf[:0], i)
		out[i] = string(buf)
	}
	return out
}

// TestEnabledDetectors: the startup log names the detectors that run; an
// empty list in the configuration means all of them (it logged "[]").
func TestEnabledDetectors(t *testing.T) {
	all := detectconfig.Config{}
	if got := enabledDetectors(&all); !slices.Equal(got, detectconfig.Detectors()) {
		t.Errorf("no list: %v, want %v", got, detectconfig.Detectors())
	}
	one := detectconfig.Config{Detectors: []string{detectconfig.Reject}}
	if got := enabledDetectors(&one); !slices.Equal(got, []string{detectconfig.Reject}) {
		t.Errorf("reject only: %v", got)
	}
}
