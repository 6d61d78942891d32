package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/parse"
)

// TestScanWith: a projected, dictionary-keeping scan reads the same values
// as a full scan, for every selected column the files have, in two flow-log
// formats (one without tcp-flags); unselected columns are not read, and a
// selected column no file has is simply absent.
func TestScanWith(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir(), Options{Allocator: checkedMem(t), Create: true})
	if err != nil {
		t.Fatal(err)
	}
	// AWS's documented default format, and a custom one with tcp-flags and
	// a missing (-) value.
	base := t0.Unix()
	def := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
	for i := range 50 {
		def += fmt.Sprintf("2 123456789010 eni-1235b8ca123456789 172.31.16.%d 172.31.16.21 20641 22 6 20 4249 %d %d %s OK\n",
			i%7, base+int64(i)*120, base+int64(i)*120+60, []string{"ACCEPT", "REJECT"}[i%2])
	}
	custom := "interface-id srcaddr dstaddr dstport tcp-flags start end action\n"
	for i := range 30 {
		src := fmt.Sprintf("10.0.1.%d", i%5)
		if i%9 == 4 {
			src = "-"
		}
		custom += fmt.Sprintf("eni-0b%d %s 203.0.113.%d %d %d %d %d ACCEPT\n", i%3, src, i%11, 443+i%2, i%4*9, base+int64(i)*300, base+int64(i)*300+30)
	}
	for k, text := range []string{def, custom} {
		recs := parseText(t, l.mem, []byte(text), 16)
		_, err := l.Write(ctx, fmt.Sprintf("b%d", k), recs)
		release(recs)
		if err != nil {
			t.Fatal(err)
		}
	}
	cols := []string{parse.ColSrcAddr, parse.ColAction, parse.ColStart, parse.ColBytes, parse.ColTCPFlags, parse.ColInterfaceID, "no_such_column"}
	dump := func(opts ScanOptions) []string {
		var out []string
		err := l.ScanWith(ctx, opts, func(rec arrow.RecordBatch) error {
			sc := rec.Schema()
			for i := range int(rec.NumRows()) {
				var row []string
				for _, c := range cols {
					idx := sc.FieldIndices(c)
					if len(idx) == 0 {
						continue
					}
					row = append(row, c+"="+valueString(rec.Column(idx[0]), i))
				}
				out = append(out, strings.Join(row, " "))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := dump(ScanOptions{})
	if len(want) != 80 {
		t.Fatalf("full scan: %d rows, want 80", len(want))
	}
	got := dump(ScanOptions{Columns: cols, Dictionaries: true})
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("projected scan (-got +want):\n%s", diff)
	}
	// Only the selected columns, strings as dictionaries.
	err = l.ScanWith(ctx, ScanOptions{Columns: cols, Dictionaries: true}, func(rec arrow.RecordBatch) error {
		for _, f := range rec.Schema().Fields() {
			if !strings.Contains(strings.Join(cols, " "), f.Name) {
				return fmt.Errorf("column %s read, not selected", f.Name)
			}
			if wantType(f.Name).ID() == arrow.STRING && f.Type.ID() != arrow.DICTIONARY {
				return fmt.Errorf("column %s: type %s, want a dictionary", f.Name, f.Type)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	// No column of the files selected: their rows without columns, not
	// every column.
	rows := int64(0)
	err = l.ScanWith(ctx, ScanOptions{Columns: []string{"no_such_column"}}, func(rec arrow.RecordBatch) error {
		if rec.NumCols() != 0 {
			return fmt.Errorf("%d columns read, none selected", rec.NumCols())
		}
		rows += rec.NumRows()
		return nil
	})
	if err != nil || rows != 80 {
		t.Errorf("no column: %d rows, %v; want 80", rows, err)
	}
}

// valueString renders row i of a column of any type the lake reads back.
func valueString(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return "null"
	}
	switch c := col.(type) {
	case *array.Dictionary:
		return valueString(c.Dictionary(), c.GetValueIndex(i))
	case *array.String:
		return c.Value(i)
	case *array.Int32:
		return fmt.Sprint(c.Value(i))
	case *array.Int64:
		return fmt.Sprint(c.Value(i))
	}
	return "?" + col.DataType().String()
}
