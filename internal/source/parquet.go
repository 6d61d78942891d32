package source

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// readParquet reads AWS's flow-log Parquet (FileFormat=parquet) after
// checking that its columns are flow-log columns, with start/end in epoch
// milliseconds normalised to seconds.
func (in *Input) readParquet(ctx context.Context, raw io.Reader, br *bufio.Reader, opts ReadOptions, st *Stats, fn func(arrow.RecordBatch) error) error {
	ras, cleanup, err := readerAtSeeker(raw, br, opts.TempDir)
	if err != nil {
		return &Error{Name: in.Name, Err: err}
	}
	defer cleanup()
	if end, err := ras.Seek(0, io.SeekEnd); err == nil && st.Stored < end {
		if opts.Progress != nil {
			opts.Progress(end - st.Stored)
		}
		st.Stored = end
	}
	if _, err := ras.Seek(0, io.SeekStart); err != nil {
		return &Error{Name: in.Name, Err: err}
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	checked := false
	err = store.ReadParquet(ctx, ras, mem, func(rec arrow.RecordBatch) error {
		if !checked {
			if err := store.CheckFlowSchema(rec.Schema()); err != nil {
				return &Error{Name: in.Name, Err: fmt.Errorf("%w: %w", ErrNotFlowLogs, err)}
			}
			checked = true
		}
		rec, n, err := normaliseMillis(rec, mem)
		if err != nil {
			return err
		}
		defer rec.Release()
		st.Millis += n
		st.Records += rec.NumRows()
		st.Batches++
		countStatus(rec, &st.Stats)
		return fn(rec)
	})
	if err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Name: in.Name, Err: fmt.Errorf("%w: %w", ErrNotFlowLogs, err)}
	}
	return nil
}

// normaliseMillis returns rec (retained) with start and end values in epoch
// milliseconds turned into seconds, and how many it changed.
func normaliseMillis(rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, int64, error) {
	sc := rec.Schema()
	cols := rec.Columns()
	var n int64
	var out []arrow.Array
	for _, name := range []string{parse.ColStart, parse.ColEnd} {
		idx := sc.FieldIndices(name)
		if idx == nil {
			continue
		}
		c, ok := cols[idx[0]].(*array.Int64)
		if !ok {
			continue
		}
		vals := c.Int64Values()
		need := false
		for i, v := range vals {
			if c.IsValid(i) && v > parse.MaxEpochSeconds {
				need = true
				break
			}
		}
		if !need {
			continue
		}
		if out == nil {
			out = append([]arrow.Array(nil), cols...)
		}
		b := array.NewInt64Builder(mem)
		b.Reserve(len(vals))
		for i, v := range vals {
			if !c.IsValid(i) {
				b.AppendNull()
				continue
			}
			s, changed := parse.EpochSeconds(v)
			if changed {
				n++
			}
			b.Append(s)
		}
		arr := b.NewArray()
		b.Release()
		defer arr.Release()
		out[idx[0]] = arr
	}
	if out == nil {
		rec.Retain()
		return rec, 0, nil
	}
	return array.NewRecordBatch(sc, out, rec.NumRows()), n, nil
}

// countStatus counts NODATA and SKIPDATA records.
func countStatus(rec arrow.RecordBatch, st *parse.Stats) {
	idx := rec.Schema().FieldIndices(parse.ColLogStatus)
	if idx == nil {
		return
	}
	c, ok := rec.Column(idx[0]).(*array.String)
	if !ok {
		return
	}
	for i := 0; i < c.Len(); i++ {
		if c.IsNull(i) {
			continue
		}
		switch c.Value(i) {
		case parse.StatusNoData:
			st.NoData++
		case parse.StatusSkipData:
			st.SkipData++
		}
	}
}
