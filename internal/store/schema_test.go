package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/flowq/flowq/internal/parse"
)

func TestCheckFlowSchema(t *testing.T) {
	f := func(name string, typ arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	tests := []struct {
		name   string
		fields []arrow.Field
		err    string // "" = accepted
	}{
		{"parser's default format", parse.DefaultFormat().Schema().Fields(), ""},
		{"AWS-native widths", []arrow.Field{f("version", arrow.PrimitiveTypes.Int32), f("srcport", arrow.PrimitiveTypes.Int64), f("start", arrow.PrimitiveTypes.Int64), f("action", arrow.BinaryTypes.LargeString)}, ""},
		{"dictionary strings", []arrow.Field{f("start", arrow.PrimitiveTypes.Int64), f("srcaddr", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String})}, ""},
		{"not flow logs", []arrow.Field{f("a", arrow.PrimitiveTypes.Int64), f("b", arrow.BinaryTypes.String)}, "no flow-log columns (found a, b"},
		{"one stranger", []arrow.Field{f("start", arrow.PrimitiveTypes.Int64), f("a", arrow.PrimitiveTypes.Int64)}, "not flow-log fields: a"},
		{"AWS field names", []arrow.Field{f("start", arrow.PrimitiveTypes.Int64), f("tcp-flags", arrow.PrimitiveTypes.Int32)}, "not flow-log fields: tcp-flags"},
		{"no start", []arrow.Field{f("srcaddr", arrow.BinaryTypes.String), f("bytes", arrow.PrimitiveTypes.Int64)}, "no start column"},
		{"wrong type", []arrow.Field{f("start", arrow.BinaryTypes.String)}, "start is utf8, want int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFlowSchema(arrow.NewSchema(tt.fields, nil))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNotFlowLog) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want ErrNotFlowLog with %q", err, tt.err)
			}
		})
	}
}

// TestNoStartRejected: records without a start (null, or -1 as some
// exporters write it) are counted as rejected, never stored in year=1970.
// Old code put them in year=1970/month=01/day=01/hour=00.
func TestNoStartRejected(t *testing.T) {
	ctx := context.Background()
	mem := checkedMem(t)
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues([]int64{1795132800, 0, -1, 1795132900}, []bool{true, false, true, true})
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "start", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{col}, 4)
	defer rec.Release()
	root := t.TempDir()
	l, err := Open(ctx, root, Options{Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Write(ctx, "b", []arrow.RecordBatch{rec})
	if err != nil || res.Rows != 2 || res.Rejected != 2 {
		t.Errorf("Write = %+v, %v; want 2 rows, 2 rejected", res, err)
	}
	src, err := ingest(t, l, SourceInfo{ID: "s", Name: "s"}, []arrow.RecordBatch{rec}, 0)
	if err != nil || src.Records != 2 || src.Rejected != 2 {
		t.Errorf("Commit = %+v, %v; want 2 records, 2 rejected", src, err)
	}
	for _, p := range athenaFiles(t, root) {
		if strings.Contains(p, "year=1970") {
			t.Errorf("stored in 1970: %s", p)
		}
	}
	// A batch without a start column is refused.
	noStart := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{col}, 4)
	defer noStart.Release()
	if _, err := l.Write(ctx, "c", []arrow.RecordBatch{noStart}); !errors.Is(err, ErrNotFlowLog) {
		t.Errorf("no start column: %v", err)
	}
}
