package store

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/flowq/flowq/internal/parse"
)

// readBatchRows is the batch size when reading Parquet back.
const readBatchRows = 64 << 10

// ReadParquet reads a Parquet file of flow-log records, ours or AWS's own
// (FileFormat=parquet), and calls fn with each record batch, valid only
// during the call. Columns are conformed to the parser's schema: known
// fields get their flow-log type (integers of another width are converted,
// large strings become strings, dictionaries are decoded); unknown columns
// are passed through.
func ReadParquet(ctx context.Context, r parquet.ReaderAtSeeker, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(decoderMem)))
	if err != nil {
		return err
	}
	defer pf.Close()
	return readFile(ctx, pf, mem, fn)
}

// readFile is ReadParquet of an open file.
func readFile(ctx context.Context, pf *file.Reader, mem memory.Allocator, fn func(arrow.RecordBatch) error) error {
	return readFileWith(ctx, pf, mem, ScanOptions{}, fn)
}

// readFileWith is readFile of the columns opts select.
func readFileWith(ctx context.Context, pf *file.Reader, mem memory.Allocator, opts ScanOptions, fn func(arrow.RecordBatch) error) error {
	props, cols := readProps(pf, opts)
	if cols != nil && len(cols) == 0 {
		return emptyBatches(pf, fn)
	}
	fr, err := pqarrow.NewFileReader(pf, props, decoderMem)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, cols, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		rec, err := conform(rr.RecordBatch(), mem, opts.Dictionaries)
		if err != nil {
			return err
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return rr.Err()
}

// readObject reads one object of the lake.
func (l *Lake) readObject(ctx context.Context, key string, fn func(arrow.RecordBatch) error) error {
	return l.readObjectWith(ctx, key, ScanOptions{}, fn)
}

// readObjectWith reads the columns opts select of one object of the lake.
func (l *Lake) readObjectWith(ctx context.Context, key string, opts ScanOptions, fn func(arrow.RecordBatch) error) error {
	return l.withParquet(ctx, key, func(pf *file.Reader) error { return readFileWith(ctx, pf, l.mem, opts, fn) })
}

// withParquet opens one object of the lake as a Parquet file for fn.
func (l *Lake) withParquet(ctx context.Context, key string, fn func(*file.Reader) error) error {
	r, err := l.be.open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(decoderMem)))
	if err != nil {
		return err
	}
	defer pf.Close()
	return fn(pf)
}

func parquetSchema(r parquet.ReaderAtSeeker, mem memory.Allocator) (*arrow.Schema, error) {
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(decoderMem)))
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return nil, err
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, err
	}
	return conformSchema(sc), nil
}

// wantType returns the flow-log type of a column, or nil if unknown.
func wantType(name string) arrow.DataType {
	fd, ok := parse.Lookup(name)
	if !ok || fd.Column != name {
		return nil
	}
	return fd.Kind.DataType()
}

func conformSchema(sc *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, sc.NumFields())
	for i, f := range sc.Fields() {
		if t := wantType(f.Name); t != nil {
			f.Type = t
		}
		f.Nullable = true
		f.Metadata = arrow.Metadata{}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}

// conform returns rec with known columns in their flow-log types (string
// columns may stay dictionaries of strings when dicts is set). The result
// is a new reference the caller releases.
func conform(rec arrow.RecordBatch, mem memory.Allocator, dicts bool) (arrow.RecordBatch, error) {
	sc := rec.Schema()
	out := conformSchema(sc)
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range sc.Fields() {
		col := rec.Column(i)
		want := wantType(f.Name)
		if want == nil || arrow.TypeEqual(col.DataType(), want) {
			col.Retain()
			cols[i] = col
			continue
		}
		if keepDictionary(col, want, dicts) {
			col.Retain()
			cols[i] = col
			fs := out.Fields()
			fs[i].Type = col.DataType()
			out = arrow.NewSchema(fs, nil)
			continue
		}
		c, err := convert(col, want, mem)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(out, cols, rec.NumRows()), nil
}

// convert turns an integer or string array into want (int32, int64 or
// utf8).
func convert(col arrow.Array, want arrow.DataType, mem memory.Allocator) (arrow.Array, error) {
	if d, ok := col.(*array.Dictionary); ok {
		return convertDict(d, want, mem)
	}
	n := col.Len()
	switch want.ID() {
	case arrow.INT32, arrow.INT64:
		get, ok := intGetter(col)
		if !ok {
			return nil, fmt.Errorf("cannot convert %s to %s", col.DataType(), want)
		}
		if want.ID() == arrow.INT32 {
			return fill(n, col.IsNull, func(i int) int32 { return int32(get(i)) }, array.NewInt32Builder(mem)), nil
		}
		return fill(n, col.IsNull, get, array.NewInt64Builder(mem)), nil
	case arrow.STRING:
		var get func(int) string
		switch c := col.(type) {
		case *array.LargeString:
			get = c.Value
		case *array.StringView:
			get = c.Value
		case *array.Binary:
			get = c.ValueString
		default:
			return nil, fmt.Errorf("cannot convert %s to %s", col.DataType(), want)
		}
		return fill(n, col.IsNull, get, array.NewStringBuilder(mem)), nil
	}
	return nil, fmt.Errorf("cannot convert %s to %s", col.DataType(), want)
}

func convertDict(d *array.Dictionary, want arrow.DataType, mem memory.Allocator) (arrow.Array, error) {
	dict := d.Dictionary()
	if arrow.TypeEqual(dict.DataType(), want) {
		dict.Retain()
	} else {
		var err error
		if dict, err = convert(dict, want, mem); err != nil {
			return nil, err
		}
	}
	defer dict.Release()
	n, at := d.Len(), d.GetValueIndex
	switch want.ID() {
	case arrow.STRING:
		v := dict.(*array.String)
		return fill(n, d.IsNull, func(i int) string { return v.Value(at(i)) }, array.NewStringBuilder(mem)), nil
	case arrow.INT32:
		v := dict.(*array.Int32)
		return fill(n, d.IsNull, func(i int) int32 { return v.Value(at(i)) }, array.NewInt32Builder(mem)), nil
	case arrow.INT64:
		v := dict.(*array.Int64)
		return fill(n, d.IsNull, func(i int) int64 { return v.Value(at(i)) }, array.NewInt64Builder(mem)), nil
	}
	return nil, fmt.Errorf("cannot convert %s to %s", d.DataType(), want)
}

// fill builds an array of n values with b: null where isNull(i), else
// value(i).
func fill[T any, B interface {
	Append(T)
	AppendNull()
	Reserve(int)
	NewArray() arrow.Array
	Release()
}](n int, isNull func(int) bool, value func(int) T, b B) arrow.Array {
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if isNull(i) {
			b.AppendNull()
		} else {
			b.Append(value(i))
		}
	}
	return b.NewArray()
}

func intGetter(col arrow.Array) (func(int) int64, bool) {
	switch c := col.(type) {
	case *array.Int8:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	case *array.Int16:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	case *array.Int32:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	case *array.Int64:
		return c.Value, true
	case *array.Uint8:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	case *array.Uint16:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	case *array.Uint32:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	case *array.Uint64:
		return func(i int) int64 { return int64(c.Value(i)) }, true
	}
	return nil, false
}

// decoderMem is the allocator of Parquet readers. arrow-go v18.8.0's
// DELTA_BINARY_PACKED decoder never frees its miniblock-width buffer (64
// bytes per column chunk), and the decoders share the FileReader's
// allocator, so reading uses the garbage-collected Go allocator; only the
// arrays conform builds come from the caller's.
var decoderMem = memory.NewGoAllocator()

// Scan calls fn with every record of the selected partitions once: the
// files Objects lists (a compaction in progress or interrupted is honoured),
// columns conformed to AWS's types. A batch is valid only during the call.
func (l *Lake) Scan(ctx context.Context, filter Filter, fn func(arrow.RecordBatch) error) error {
	return l.ScanWith(ctx, ScanOptions{Filter: filter}, fn)
}
