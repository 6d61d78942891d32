package detect

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/parse"
)

// TestStatusExact: only a log-status of exactly OK (or none) is judged. A
// lake written by another tool may hold any text there ("ok", "XX": two
// bytes like OK): those records are unusable, as the record-by-record
// reference has it, not judged as OK.
func TestStatusExact(t *testing.T) {
	rec := adversarialBatch(t, 9, 2000)
	col := rec.Schema().FieldIndices(parse.ColLogStatus)[0]
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	odd := 0
	for i := range int(rec.NumRows()) {
		switch {
		case i%5 == 1:
			b.Append("ok")
			odd++
		case i%5 == 3:
			b.Append("XX")
			odd++
		default:
			b.Append(parse.StatusOK)
		}
	}
	status := b.NewArray()
	defer status.Release()
	cols := append([]arrow.Array(nil), rec.Columns()...)
	cols[col] = status
	mixed := array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
	defer mixed.Release()

	now := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC) // as in TestAggregateMatchesReference
	eng, err := New(DefaultConfig(), NewMemoryState(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	checkAggregate(t, eng, mixed, now.Unix(), 0)
	if eng.sum.Unusable < int64(odd) {
		t.Fatalf("unusable %d, want at least the %d records of status ok or XX", eng.sum.Unusable, odd)
	}
}
