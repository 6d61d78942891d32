package parse

import (
	"bytes"
	"errors"
	"io"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Defaults of Options.
const (
	DefaultBatchSize    = 16384
	DefaultMaxLineBytes = 64 << 10
	readChunk           = 256 << 10
)

// Epoch bounds of start and end. A value up to MaxEpochSeconds (the year
// 5138) is seconds; a larger one up to maxEpochMillis is milliseconds and is
// divided by 1000; anything larger is out of range.
const (
	MaxEpochSeconds = 1e11 - 1
	maxEpochMillis  = 1e14 - 1
)

// EpochSeconds returns a start or end value in seconds: values past
// MaxEpochSeconds are epoch milliseconds (changed reports it). The parser
// applies the same rule to text; Parquet readers call this.
func EpochSeconds(v int64) (s int64, changed bool) {
	if v > MaxEpochSeconds && v <= maxEpochMillis {
		return v / 1000, true
	}
	return v, false
}

// Options configure a Reader.
type Options struct {
	// Format of the records. nil means AWS's default version 2 format. A
	// header line in the input (as in files AWS delivers to S3) replaces it
	// from that line on.
	Format *Format
	// BatchSize is the most records per batch (default 16384).
	BatchSize int
	// Allocator for the Arrow buffers. nil uses a Pool private to the
	// Reader, so buffers of released batches are reused.
	Allocator memory.Allocator
	// Name of the input, used in errors ("" leaves it out).
	Name string
	// MaxLineBytes bounds the memory a single line may take (default 64 KiB);
	// a longer line is rejected and skipped.
	MaxLineBytes int
	// OnBadLine is called for every rejected line. The error is only valid
	// during the call. May be nil: the line is still counted in Stats.
	OnBadLine func(*LineError)
	// OnWarning is called for things that do not reject a line, such as an
	// unknown field in a header line (kept as a string column).
	OnWarning func(*LineError)
}

// Reader turns flow-log text into Arrow record batches. It is shaped like
// arrow-go's CSV reader: Next, RecordBatch, Err, Release. Each batch is
// valid until the next call to Next; Retain it to keep it longer. Lines are
// read in bounded memory and no memory is allocated per record.
//
// Every batch of one Reader has the schema of the format in force when its
// records were read; a header line that changes the format ends the batch.
type Reader struct {
	opts  Options
	mem   memory.Allocator
	src   io.Reader // nil for the []byte fast path
	buf   []byte    // unread input: data[pos:]
	pos   int
	eof   bool
	skip  bool // discarding the rest of an over-long line
	ioErr error

	fm      *Format
	next    *Format // format from a header line, in force after the current batch
	cols    []column
	rows    int
	rowCap  int
	lastCap int // row capacity of the previous batch: where the next one starts
	status  int // index of log-status, -1 if absent
	names   map[string]struct{}
	cur     arrow.RecordBatch
	stats   Stats
	lineNo  int64
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader, opts Options) *Reader {
	rd := newReader(opts)
	rd.src = r
	return rd
}

// NewBytesReader returns a Reader over an in-memory input. It reads data in
// place without copying it first; data must not change while the Reader is in
// use.
func NewBytesReader(data []byte, opts Options) *Reader {
	rd := newReader(opts)
	rd.buf = data
	rd.eof = true
	return rd
}

func newReader(opts Options) *Reader {
	if opts.Format == nil {
		opts.Format = DefaultFormat()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	mem := opts.Allocator
	if mem == nil {
		mem = NewPool()
	}
	names := make(map[string]struct{}, len(known))
	for _, k := range known {
		names[k.Name] = struct{}{}
	}
	r := &Reader{opts: opts, mem: mem, names: names}
	r.setFormat(opts.Format)
	return r
}

// Format returns the format in force for the current batch.
func (r *Reader) Format() *Format { return r.fm }

// Stats returns the counters so far.
func (r *Reader) Stats() Stats { return r.stats }

// Err returns the I/O error that stopped the Reader, if any. Rejected lines
// are not errors here: they go to Options.OnBadLine and Stats.
func (r *Reader) Err() error { return r.ioErr }

// RecordBatch returns the current batch, valid until the next call to Next.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Release frees the current batch and the Reader's buffers.
func (r *Reader) Release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for i := range r.cols {
		r.cols[i].release()
	}
	r.rows, r.rowCap = 0, 0
}

// Next reads the next batch. It returns false at the end of the input or on
// an I/O error (see Err).
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.next != nil {
		r.setFormat(r.next)
		r.next = nil
	}
	for r.rows < r.opts.BatchSize && r.next == nil {
		line, ok := r.line()
		if !ok {
			break
		}
		r.parseLine(line)
	}
	if r.rows == 0 {
		return false
	}
	r.cur = r.finish()
	return true
}

// ReadAll reads the rest of the input and returns its batches, each
// retained: the caller releases them. The error is Err's: rejected lines
// are not errors (see Options.OnBadLine and Stats).
func (r *Reader) ReadAll() ([]arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	return recs, r.Err()
}

// line returns the next line without its terminator, or false at the end.
func (r *Reader) line() ([]byte, bool) {
	for {
		data := r.buf[r.pos:]
		i := bytes.IndexByte(data, '\n')
		if r.skip { // the tail of an over-long line: drop it
			if i < 0 {
				r.stats.Bytes += int64(len(data))
				r.pos = len(r.buf)
				if r.eof {
					return nil, false
				}
				r.fill()
				continue
			}
			r.stats.Bytes += int64(i + 1)
			r.pos += i + 1
			r.skip = false
			continue
		}
		if i >= 0 {
			r.pos += i + 1
			r.stats.Bytes += int64(i + 1)
			r.lineNo++
			r.stats.Lines++
			if i > r.opts.MaxLineBytes {
				r.tooLong(i)
				continue
			}
			return data[:i], true
		}
		if len(data) > r.opts.MaxLineBytes {
			r.lineNo++
			r.stats.Lines++
			r.stats.Bytes += int64(len(data))
			r.pos = len(r.buf)
			r.tooLong(len(data))
			r.skip = !r.eof
			continue
		}
		if r.eof {
			if len(data) == 0 {
				return nil, false
			}
			r.pos = len(r.buf)
			r.stats.Bytes += int64(len(data))
			r.lineNo++
			r.stats.Lines++
			return data, true
		}
		r.fill()
	}
}

// fill reads more input, keeping the unread tail.
func (r *Reader) fill() {
	rest := len(r.buf) - r.pos
	if r.buf == nil {
		r.buf = make([]byte, 0, readChunk)
	}
	if r.pos > 0 {
		copy(r.buf[:cap(r.buf)], r.buf[r.pos:])
		r.buf = r.buf[:rest]
		r.pos = 0
	}
	if cap(r.buf)-len(r.buf) < readChunk/2 {
		nb := make([]byte, len(r.buf), 2*cap(r.buf))
		copy(nb, r.buf)
		r.buf = nb
	}
	n, err := io.ReadAtLeast(r.src, r.buf[len(r.buf):cap(r.buf)], 1)
	r.buf = r.buf[:len(r.buf)+n]
	if err != nil {
		r.eof = true
		// Only a clean io.EOF ends the input: a gzip stream cut short
		// (io.ErrUnexpectedEOF from the decompressor) is an error.
		if !errors.Is(err, io.EOF) {
			r.ioErr = err
		}
	}
}

func (r *Reader) tooLong(n int) {
	r.reject(&LineError{Reason: ReasonLineTooLong, Detail: "over " + itoa(r.opts.MaxLineBytes) + " bytes: " + itoa(n)})
}

func (r *Reader) reject(e *LineError) {
	e.File = r.opts.Name
	e.Line = r.lineNo
	r.stats.BadLines++
	r.stats.ByReason[e.Reason]++
	if r.opts.OnBadLine != nil {
		r.opts.OnBadLine(e)
	}
}

func (r *Reader) setFormat(fm *Format) {
	for i := range r.cols {
		r.cols[i].release()
	}
	r.fm = fm
	r.cols = make([]column, fm.Len())
	for i := range r.cols {
		fd := fm.fields[i]
		max := fd.Max
		switch {
		case fd.Kind == Int32 && max == 0:
			max = math.MaxInt32
		case fd.Kind == Int64 && max == 0:
			max = math.MaxInt64
		}
		millis := fd.Name == "start" || fd.Name == "end"
		if millis {
			max = MaxEpochSeconds
		}
		r.cols[i] = column{field: fd, kind: fd.Kind, check: fd.check, max: uint64(max), millis: millis}
	}
	r.status = fm.Index("log-status")
	r.rows, r.rowCap = 0, 0
}

// parseLine parses one line and appends it as a row, or rejects it. The row
// is committed only when every field converted; a failed line leaves the
// columns as they were (its values sit past the committed rows and are
// overwritten by the next line).
func (r *Reader) parseLine(line []byte) {
	// CRLF endings, and any CR or space before them: no flow-log value ends
	// with a CR, and a last value kept with one ("x\r " as "x\r") could not
	// be written back as text and read the same (the next reader would take
	// the CR as part of the line's end). Spaces after the last value were
	// always ignored.
	for n := len(line); n > 0 && (line[n-1] == '\r' || line[n-1] == ' '); n-- {
		line = line[:n-1]
	}
	// Skip leading spaces; blank lines are skipped.
	p := 0
	for p < len(line) && line[p] == ' ' {
		p++
	}
	if p == len(line) {
		r.stats.Blank++
		return
	}
	if c := line[p]; c >= 'a' && c <= 'z' && r.isHeader(line[p:]) {
		return
	}
	if r.rows == r.rowCap {
		r.grow()
	}
	row := r.rows
	cols := r.cols
	var hi uint64 // OR of the string bytes seen: bit 7 set means non-ASCII
	for j := range cols {
		c := &cols[j]
		for p < len(line) && line[p] == ' ' {
			p++
		}
		if p == len(line) {
			r.rejectCount(line, j)
			return
		}
		start := p
		if c.kind == String {
			p = nextSpace(line, p)
			if p-start == 1 && line[start] == '-' {
				c.setNull(row)
				continue
			}
			if c.check != anyValue && !validValue(c.check, line[start:p]) {
				r.rejectField(ReasonValue, c, line[start:p])
				return
			}
			hi |= c.appendString(row, line, start, p)
			continue
		}
		// Integer field: digits only, or "-" for null.
		v, q := parseDigits(line, p)
		p = q
		n := p - start
		if p < len(line) && line[p] != ' ' {
			if n == 0 && line[p] == '-' && (p+1 == len(line) || line[p+1] == ' ') {
				p++
				c.setNull(row)
				continue
			}
			p = nextSpace(line, p)
			r.rejectField(ReasonSyntax, c, line[start:p])
			return
		}
		if n > 18 && !fitsUint63(line[start:p]) || v > c.max {
			// Off the hot path: start and end given in epoch milliseconds
			// (AWS has emitted them) become seconds.
			if !c.millis || n > 18 || v > maxEpochMillis {
				r.rejectField(ReasonRange, c, line[start:p])
				return
			}
			v /= 1000
			r.stats.Millis++
		}
		if c.kind == Int32 {
			c.i32[row] = int32(v)
		} else {
			c.i64[row] = int64(v)
		}
	}
	for p < len(line) && line[p] == ' ' {
		p++
	}
	if p != len(line) {
		r.rejectCount(line, -1)
		return
	}
	if hi&0x8080808080808080 != 0 && !utf8.Valid(line) {
		r.undo()
		r.rejectUTF8(line)
		return
	}
	r.rows++
	if r.status >= 0 {
		if c := &cols[r.status]; c.isValid(row) {
			switch b := c.bytes[c.i32[row]:c.i32[row+1]]; string(b) {
			case StatusNoData:
				r.stats.NoData++
			case StatusSkipData:
				r.stats.SkipData++
			}
		}
	}
}

func (r *Reader) rejectCount(line []byte, got int) {
	if got < 0 { // too many: count them
		got = len(bytes.Fields(line))
	}
	r.undo()
	r.reject(&LineError{Reason: ReasonFieldCount, Detail: fieldCountDetail(got, len(r.cols)), got: got, want: len(r.cols)})
}

func (r *Reader) rejectField(reason Reason, c *column, tok []byte) {
	r.undo()
	r.reject(&LineError{Reason: reason, Field: c.field.Name, Value: truncate(tok)})
}

func (r *Reader) rejectUTF8(line []byte) {
	name := ""
	for i, tok := range bytes.Fields(line) {
		if !utf8.Valid(tok) {
			if i < len(r.cols) {
				name = r.cols[i].field.Name
			}
			break
		}
	}
	r.reject(&LineError{Reason: ReasonUTF8, Field: name})
}

// undo drops whatever a rejected line wrote past the committed rows.
func (r *Reader) undo() {
	for j := range r.cols {
		r.cols[j].undo(r.rows)
	}
}

// grow makes room for more rows: a small first allocation that doubles up to
// the batch size, so tiny inputs (one Lambda event) stay small.
func (r *Reader) grow() {
	n := r.rowCap * 2
	if n == 0 && r.lastCap > 0 {
		n = r.lastCap
	} else if n == 0 {
		n = min(r.opts.BatchSize, 1024)
		if r.src == nil { // fast path: size from the remaining input
			n = min(r.opts.BatchSize, max(64, (len(r.buf)-r.pos)/64+16))
		}
	}
	n = min(n, r.opts.BatchSize)
	for j := range r.cols {
		r.cols[j].reserve(r.mem, n)
	}
	r.rowCap = n
}

// finish turns the columns into a record batch and resets them.
func (r *Reader) finish() arrow.RecordBatch {
	arrs := make([]arrow.Array, len(r.cols))
	for j := range r.cols {
		arrs[j] = r.cols[j].array(r.rows)
	}
	rec := array.NewRecordBatch(r.fm.schema, arrs, int64(r.rows))
	for _, a := range arrs {
		a.Release()
	}
	r.stats.Records += int64(r.rows)
	r.stats.Batches++
	r.lastCap = r.rowCap
	r.rows, r.rowCap = 0, 0
	return rec
}
