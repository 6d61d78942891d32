package store

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ScanOptions choose what Lake.ScanWith reads. The zero value reads every
// column of every partition, as Scan does.
type ScanOptions struct {
	// Filter selects partitions; nil selects all.
	Filter Filter
	// Columns names the columns to read, in the file's order; nil reads
	// them all. Names a file lacks are left out of its batches (flow-log
	// formats vary): callers check what they need. A file with none of them
	// gives batches of its rows without columns.
	Columns []string
	// Dictionaries keeps dictionary-encoded string columns (the lake writes
	// every string column so) as dictionary arrays, int32 indices into utf8
	// values, instead of decoding each row's string: most of what reading
	// the lake costs. Readers index the dictionary once per batch.
	Dictionaries bool
	// Listed, if set, is called with each listing ScanWith or ScanObjects
	// reads (the first, its own or the caller's, and every one after
	// listed objects vanished) before it reads any of it; an error stops
	// the scan. For tests of readers racing a compaction.
	Listed func([]Object) error
}

// ScanWith is Scan with a column projection and, optionally, dictionary
// arrays for the string columns. A batch is valid only during the call.
//
// A compaction may delete listed objects before ScanWith reads them: it
// then lists again and reads only the rows it has not given fn yet (see
// scanOnce), so every record is still given exactly once.
func (l *Lake) ScanWith(ctx context.Context, opts ScanOptions, fn func(arrow.RecordBatch) error) error {
	return l.scanOnce(ctx, nil, opts, fn)
}

// readProps returns the pqarrow properties and the leaf columns to read of
// pf for opts (nil: all).
func readProps(pf *file.Reader, opts ScanOptions) (pqarrow.ArrowReadProperties, []int) {
	// pqarrow reserves BatchSize rows per column up front: a small file
	// (a Lambda batch's) gets a batch of its own size.
	props := pqarrow.ArrowReadProperties{BatchSize: min(readBatchRows, max(pf.NumRows(), 1))}
	sc := pf.MetaData().Schema
	var cols []int
	if opts.Columns != nil {
		want := make(map[string]bool, len(opts.Columns))
		for _, c := range opts.Columns {
			want[c] = true
		}
		cols = []int{} // none wanted is none read, not all
		for i := range sc.NumColumns() {
			if want[sc.Column(i).Path()] {
				cols = append(cols, i)
			}
		}
	}
	if opts.Dictionaries {
		for i := range sc.NumColumns() {
			if c := sc.Column(i); c.PhysicalType().String() == "BYTE_ARRAY" {
				props.SetReadDict(i, true)
			}
		}
	}
	return props, cols
}

// keepDictionary reports whether conform leaves col, a known column of
// flow-log type want, as it is: a dictionary of utf8 values for a string
// column, when the reader asked for dictionaries.
func keepDictionary(col arrow.Array, want arrow.DataType, dicts bool) bool {
	if !dicts || want.ID() != arrow.STRING {
		return false
	}
	dt, ok := col.DataType().(*arrow.DictionaryType)
	return ok && dt.ValueType.ID() == arrow.STRING && dt.IndexType.ID() == arrow.INT32
}

// emptyBatches calls fn with one batch per row group of pf, with its rows
// and no columns.
func emptyBatches(pf *file.Reader, fn func(arrow.RecordBatch) error) error {
	sc := arrow.NewSchema(nil, nil)
	for i := range pf.NumRowGroups() {
		rec := array.NewRecordBatch(sc, nil, pf.MetaData().RowGroup(i).NumRows())
		err := fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}
