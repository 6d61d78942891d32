package detecttest

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DictionaryColumns returns rec with every string column dictionary
// encoded (int32 indices into utf8 values, as the lake reads back), nulls
// kept.
func DictionaryColumns(t testing.TB, mem memory.Allocator, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	fields := rec.Schema().Fields()
	cols := make([]arrow.Array, len(fields))
	for i := range fields {
		col := rec.Column(i)
		s, ok := col.(*array.String)
		if !ok {
			col.Retain()
			cols[i] = col
			continue
		}
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
		b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
		for j := range s.Len() {
			if s.IsNull(j) {
				b.AppendNull()
			} else if err := b.AppendString(s.Value(j)); err != nil {
				t.Fatal(err)
			}
		}
		cols[i] = b.NewArray()
		b.Release()
		fields[i].Type = dt
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}
