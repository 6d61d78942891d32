package store

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestConvertDictionary: dictionary-encoded columns (as some Parquet
// writers' files read back) become the plain flow-log types, nulls kept.
func TestConvertDictionary(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name  string
		value arrow.DataType
		build func(b array.Builder)
		want  string
	}{
		{"utf8", arrow.BinaryTypes.String, func(b array.Builder) {
			db := b.(*array.BinaryDictionaryBuilder)
			db.AppendString("ACCEPT")
			db.AppendNull()
			db.AppendString("REJECT")
			db.AppendString("ACCEPT")
		}, `["ACCEPT" (null) "REJECT" "ACCEPT"]`},
		{"int32", arrow.PrimitiveTypes.Int32, func(b array.Builder) {
			db := b.(*array.Int32DictionaryBuilder)
			db.Append(443)
			db.Append(22)
			db.AppendNull()
			db.Append(443)
		}, `[443 22 (null) 443]`},
		{"int64 from int32", arrow.PrimitiveTypes.Int32, func(b array.Builder) {
			db := b.(*array.Int32DictionaryBuilder)
			db.Append(7)
			db.AppendNull()
		}, `[7 (null)]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: tc.value}
			b := array.NewDictionaryBuilder(mem, dt)
			defer b.Release()
			tc.build(b)
			d := b.NewArray().(*array.Dictionary)
			defer d.Release()
			want := tc.value
			if tc.name == "int64 from int32" {
				want = arrow.PrimitiveTypes.Int64
			}
			got, err := convert(d, want, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), want) || got.String() != tc.want {
				t.Fatalf("got %s %s, want %s %s", got.DataType(), got, want, tc.want)
			}
		})
	}
}

// TestConvertPlain: the column types other writers use for flow-log fields
// (Athena's bigint protocol, large or binary strings) become the AWS types.
func TestConvertPlain(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	i64 := array.NewInt64Builder(mem)
	i64.AppendValues([]int64{6, 17}, nil)
	i64.AppendNull()
	ls := array.NewLargeStringBuilder(mem)
	ls.AppendValues([]string{"10.0.11.50", ""}, []bool{true, false})
	bin := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	bin.AppendValues([][]byte{[]byte("OK"), []byte("NODATA")}, nil)
	tests := []struct {
		name string
		col  arrow.Array
		want arrow.DataType
		str  string
	}{
		{"int64 to int32", i64.NewArray(), arrow.PrimitiveTypes.Int32, "[6 17 (null)]"},
		{"large string", ls.NewArray(), arrow.BinaryTypes.String, `["10.0.11.50" (null)]`},
		{"binary", bin.NewArray(), arrow.BinaryTypes.String, `["OK" "NODATA"]`},
	}
	i64.Release()
	ls.Release()
	bin.Release()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.col.Release()
			got, err := convert(tc.col, tc.want, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), tc.want) || got.String() != tc.str {
				t.Fatalf("got %s %s, want %s %s", got.DataType(), got, tc.want, tc.str)
			}
		})
	}
	if _, err := convert(array.NewNull(1), arrow.PrimitiveTypes.Int32, mem); err == nil {
		t.Error("converting a null-typed column to int32 did not fail")
	}
}
