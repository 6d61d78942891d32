package main

import (
	"github.com/apache/arrow-go/v18/arrow"

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
