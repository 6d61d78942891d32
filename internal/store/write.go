package store

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/flowq/flowq/internal/parse"
)

// WriteResult tells what a Write stored.
type WriteResult struct {
	Objects []string // keys written, relative to the lake root
	Rows    int64
	Bytes   int64 // Parquet bytes written
}

// nullPartition holds rows whose start is null.
var nullPartition = PartitionOf(0)

// group is the rows of one batch that go to one object.
type group struct {
	part   Partition
	schema int // index of the schema within the batch
	slices []arrow.RecordBatch
	rows   int64
}

// Write stores the records of one batch. batchID identifies the batch
// (for the Lambda: log group, log stream and first event id; for files:
// path and content hash): the object names derive from it, so writing the
// same batch again replaces its objects. Records are split by the UTC hour
// of their start; each partition gets one object per distinct schema.
// Write does not release recs.
func (l *Lake) Write(ctx context.Context, batchID string, recs []arrow.RecordBatch) (WriteResult, error) {
	var res WriteResult
	var schemas []*arrow.Schema
	groups := map[[2]int64]*group{} // (hour, schema) → group
	var order []*group
	defer func() {
		for _, g := range order {
			for _, s := range g.slices {
				s.Release()
			}
		}
	}()
	for _, rec := range recs {
		if rec.NumRows() == 0 {
			continue
		}
		si := -1
		for i, s := range schemas {
			if s.Equal(rec.Schema()) {
				si = i
				break
			}
		}
		if si < 0 {
			si = len(schemas)
			schemas = append(schemas, rec.Schema())
		}
		add := func(hour int64, from, to int64) {
			k := [2]int64{hour, int64(si)}
			g := groups[k]
			if g == nil {
				g = &group{part: partitionOfHour(hour), schema: si}
				groups[k] = g
				order = append(order, g)
			}
			g.slices = append(g.slices, rec.NewSlice(from, to))
			g.rows += to - from
		}
		if err := splitByHour(rec, add); err != nil {
			return res, err
		}
	}
	for _, g := range order {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var buf bytes.Buffer
		if err := l.writeParquet(&buf, schemas[g.schema], func(w *pqarrow.FileWriter) error {
			for _, s := range g.slices {
				if err := w.WriteBuffered(s); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return res, fmt.Errorf("write %s: %w", g.part, err)
		}
		key := keyJoin(g.part, batchName(batchID, g.schema))
		if err := l.be.put(ctx, key, buf.Bytes(), false); err != nil {
			return res, err
		}
		res.Objects = append(res.Objects, key)
		res.Rows += g.rows
		res.Bytes += int64(buf.Len())
	}
	return res, nil
}

func partitionOfHour(hour int64) Partition {
	if hour < 0 {
		return nullPartition
	}
	return PartitionOf(hour * 3600)
}

// splitByHour calls add for each run of consecutive rows in the same hour.
// A batch without a start column goes whole to the null partition; null
// starts are hour -1.
func splitByHour(rec arrow.RecordBatch, add func(hour, from, to int64)) error {
	idx := rec.Schema().FieldIndices(parse.ColStart)
	n := rec.NumRows()
	if len(idx) == 0 {
		add(-1, 0, n)
		return nil
	}
	col, ok := rec.Column(idx[0]).(*array.Int64)
	if !ok {
		return fmt.Errorf("column start is %s, want int64", rec.Column(idx[0]).DataType())
	}
	vals := col.Int64Values()
	hasNulls := col.NullN() > 0
	hourAt := func(i int64) int64 {
		if hasNulls && col.IsNull(int(i)) {
			return -1
		}
		v := vals[i]
		if v < 0 {
			return -1
		}
		return v / 3600
	}
	from := int64(0)
	cur := hourAt(0)
	for i := int64(1); i < n; i++ {
		if h := hourAt(i); h != cur {
			add(cur, from, i)
			from, cur = i, h
		}
	}
	add(cur, from, n)
	return nil
}

// writerProps returns the Parquet properties of the lake's files: zstd;
// dictionary for strings and small integers (ports, protocol, flags), where
// it pays; delta encoding for the sorted-ish time columns; plain for the
// high-cardinality counters.
func (l *Lake) writerProps() *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(l.mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(l.opts.CompressionLevel),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(l.opts.RowGroupRows),
		parquet.WithDataPageSize(1 << 20),
		parquet.WithCreatedBy("flowq"),
	}
	for _, c := range []string{parse.ColStart, parse.ColEnd} {
		opts = append(opts, parquet.WithDictionaryFor(c, false), parquet.WithEncodingFor(c, parquet.Encodings.DeltaBinaryPacked))
	}
	for _, c := range []string{parse.ColPackets, parse.ColBytes} {
		opts = append(opts, parquet.WithDictionaryFor(c, false))
	}
	return parquet.NewWriterProperties(opts...)
}

// writeParquet writes one Parquet file with the lake's properties.
func (l *Lake) writeParquet(buf *bytes.Buffer, schema *arrow.Schema, body func(*pqarrow.FileWriter) error) error {
	w, err := pqarrow.NewFileWriter(schema, buf, l.writerProps(), pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(l.mem)))
	if err != nil {
		return err
	}
	if err := body(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
