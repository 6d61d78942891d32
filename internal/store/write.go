package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

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
	// Rejected counts records without a start time (null or negative),
	// which have no partition: they are not stored.
	Rejected int64
	// Merged counts objects not kept because a compaction had already
	// merged this batch's object there (a retry of a compacted batch).
	Merged int
}

// group is the rows of one batch that go to one object.
type group struct {
	part   Partition
	schema int // index of the schema within the batch
	slices []arrow.RecordBatch
	rows   int64
}

// Write stores the records of one batch. batchID identifies the batch
// (for the Lambda: log group, log stream and first event id): the object
// names derive from it, so writing the same batch again replaces its
// objects. Records are split by the UTC hour of their start; each
// partition gets one object per distinct schema, whose footer records the
// batch id (see Sources). Records without a start are counted in
// Rejected, not stored. Before each object is put, and again after, Write
// looks for the compaction marker of its key (a GET each): an object a
// compaction already merged is not put, and a copy put while a compaction
// merged the earlier one is deleted again, so a retry of a compacted batch
// is never counted twice, by flowq or by a plain reader.
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
		rejected, err := splitByHour(rec, add)
		if err != nil {
			return res, err
		}
		res.Rejected += rejected
	}
	for _, g := range order {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		name := batchName(batchID, g.schema)
		key := keyJoin(g.part, name)
		// A retry of a batch that a compaction already merged is not put
		// at all: between the put and the removal below, its copy would be
		// counted twice by any reader, flowq too once the merged file has
		// itself been merged (its manifest gone).
		if merged, err := l.wasMerged(ctx, key); err != nil {
			return res, err
		} else if merged {
			res.Merged++
			continue
		}
		rec, err := l.groupRecord(schemas[g.schema], g.slices, true)
		if err != nil {
			return res, fmt.Errorf("write %s: %w", g.part, err)
		}
		p := part{Name: name, Source: batchID, Kind: KindBatch, Rows: g.rows, Ingested: nowUnix()}
		p.First, p.Last = startSpan(rec)
		data, err := l.writeWithParts(rec, []part{p})
		rec.Release()
		if err != nil {
			return res, fmt.Errorf("write %s: %w", g.part, err)
		}
		size := int64(len(data))
		err = l.be.put(ctx, key, data, false)
		l.putBuf(data) // put has returned: nothing holds the bytes
		if err != nil {
			return res, err
		}
		// A compaction may have merged the batch's earlier copy since the
		// check above: the copy just put goes again.
		if merged, err := l.wasMerged(ctx, key); err != nil {
			return res, err
		} else if merged {
			if err := l.be.remove(ctx, []string{key}); err != nil {
				return res, err
			}
			res.Merged++
			continue
		}
		res.Objects = append(res.Objects, key)
		res.Rows += g.rows
		res.Bytes += size
	}
	return res, nil
}

func partitionOfHour(hour int64) Partition { return PartitionOf(hour * 3600) }

// startColumn returns the start column of rec.
func startColumn(rec arrow.RecordBatch) (*array.Int64, bool) {
	idx := rec.Schema().FieldIndices(parse.ColStart)
	if len(idx) == 0 {
		return nil, false
	}
	col, ok := rec.Column(idx[0]).(*array.Int64)
	return col, ok
}

// splitByHour calls add for each run of consecutive rows in the same hour
// and returns how many rows have no start (null or negative): those are
// left out.
func splitByHour(rec arrow.RecordBatch, add func(hour, from, to int64)) (int64, error) {
	n := rec.NumRows()
	col, ok := startColumn(rec)
	if !ok {
		if len(rec.Schema().FieldIndices(parse.ColStart)) == 0 {
			return 0, fmt.Errorf("records without a start column: %w", ErrNotFlowLog)
		}
		return 0, fmt.Errorf("column start is %s, want int64: %w", rec.Column(rec.Schema().FieldIndices(parse.ColStart)[0]).DataType(), ErrNotFlowLog)
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
	var rejected int64
	emit := func(hour, from, to int64) {
		if hour < 0 {
			rejected += to - from
			return
		}
		add(hour, from, to)
	}
	if n == 0 {
		return 0, nil
	}
	from := int64(0)
	cur := hourAt(0)
	for i := int64(1); i < n; i++ {
		if h := hourAt(i); h != cur {
			emit(cur, from, i)
			from, cur = i, h
		}
	}
	emit(cur, from, n)
	return rejected, nil
}

// wasMerged tells whether a compaction merged the object at key (its
// marker exists).
func (l *Lake) wasMerged(ctx context.Context, key string) (bool, error) {
	_, err := l.be.get(ctx, markerDir+key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotExist):
		return false, nil
	}
	return false, err
}

func (l *Lake) getBuf() *bytes.Buffer {
	buf, _ := l.out.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	return buf
}

// putBuf returns the buffer whose bytes data are to the pool.
func (l *Lake) putBuf(data []byte) { l.out.Put(bytes.NewBuffer(data[:0])) }

// writerProps returns the Parquet properties of the lake's files: zstd
// (level 1: higher levels gained nothing on flow logs); dictionary encoding
// for strings and small integers (version, dstport, protocol, tcp_flags,
// ...), where it pays; DELTA_BINARY_PACKED for the time columns (increasing
// within an address pair), the random ephemeral srcport, and the packets
// and bytes counters (similar within a pair once rows are clustered:
// smaller than plain+zstd, 1% larger than a dictionary for packets, and
// cheaper than either). zstd gains nothing on delta-packed srcport, end,
// packets and bytes, so they are left uncompressed; start keeps it (-12%).
// (DuckDB 1.5 reads BYTE_STREAM_SPLIT only for floats, so it is not used.)
// Statistics only for start and end, which DuckDB uses to skip row groups
// by time; the others cost CPU and rarely prune. Measured on synthetic
// seed-VPC traffic: 6-7 bytes per record, 0.39-0.44 of the gzip'd text.
func (l *Lake) writerProps() *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(l.mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(l.opts.CompressionLevel),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(l.opts.RowGroupRows),
		parquet.WithDataPageSize(1 << 20),
		parquet.WithStats(false),
		parquet.WithCreatedBy("flowq"),
	}
	for _, c := range deltaColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, false), parquet.WithEncodingFor(c, parquet.Encodings.DeltaBinaryPacked))
		if c != parse.ColStart {
			opts = append(opts, parquet.WithCompressionFor(c, compress.Codecs.Uncompressed))
		}
	}
	for _, c := range []string{parse.ColStart, parse.ColEnd} {
		opts = append(opts, parquet.WithStatsFor(c, true))
	}
	return parquet.NewWriterProperties(opts...)
}

// deltaColumns are the integer columns written DELTA_BINARY_PACKED, without
// a dictionary.
var deltaColumns = []string{parse.ColStart, parse.ColEnd, parse.ColSrcPort, parse.ColPackets, parse.ColBytes}

// groupRecord joins the slices of one object into one record in which
// every string column, and every integer column written with a dictionary
// (see writerProps), is a dictionary array (see dict.go), and whose rows
// are clustered (see clusterRows).
// Without cluster the rows keep their order (a merged file keeps its
// inputs' rows in input order, so its parts stay contiguous).
func (l *Lake) groupRecord(schema *arrow.Schema, slices []arrow.RecordBatch, cluster bool) (arrow.RecordBatch, error) {
	mem, raw := l.mem, l.raw
	s, _ := l.scratch.Get().(*dictScratch)
	if s == nil {
		s = new(dictScratch)
	}
	defer l.scratch.Put(s)
	var rows int64
	for _, sl := range slices {
		rows += sl.NumRows()
	}
	fields := schema.Fields()
	cols := make([]arrow.Array, len(fields))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(slices))
	for i := range fields {
		for j, sl := range slices {
			parts[j] = sl.Column(i)
		}
		switch id := fields[i].Type.ID(); {
		case id == arrow.STRING:
			cols[i] = s.stringDictionary(parts, int(rows), raw)
		case id == arrow.INT32 && dictionaryColumn(fields[i].Name):
			cols[i] = s.int32Dictionary(parts, int(rows), raw)
		case id == arrow.INT64 && dictionaryColumn(fields[i].Name):
			cols[i] = s.int64Dictionary(parts, int(rows), raw)
		case len(parts) == 1:
			parts[0].Retain()
			cols[i] = parts[0]
		default:
			c, err := array.Concatenate(parts, mem)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", fields[i].Name, err)
			}
			cols[i] = c
		}
		fields[i].Type = cols[i].DataType()
	}
	if cluster {
		cols = s.clusterRows(fields, cols, int(rows), raw)
	}
	md := schema.Metadata()
	return array.NewRecordBatch(arrow.NewSchema(fields, &md), cols, rows), nil
}

// dictionaryColumn tells whether an integer column is written with a
// dictionary (see writerProps).
func dictionaryColumn(name string) bool {
	return !slices.Contains(deltaColumns, name)
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
