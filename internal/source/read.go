package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/klauspost/compress/gzip"

	"github.com/flowq/flowq/internal/parse"
)

// Errors that reject a whole input; an *Error wraps one of them (or an I/O
// error), so callers use errors.Is.
var (
	ErrBinary      = errors.New("binary data, not flow-log text")
	ErrNoStart     = errors.New("the format has no ${start}: records could not be placed in time")
	ErrNotFlowLogs = errors.New("not a flow-log Parquet file")
	ErrTruncated   = errors.New("gzip stream cut short (no trailer): the file is incomplete; fetch it again")
)

// Error is a failure that rejects one input.
type Error struct {
	Name string // the input
	Line int64  // 1-based line, 0 if it does not apply
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
	}
	return e.Name + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReadOptions configure Read.
type ReadOptions struct {
	// Format of text without a header line (nil: AWS's default format).
	Format *parse.Format
	// BatchSize, Allocator, MaxLineBytes, OnBadLine and OnWarning are
	// passed to the parser (parse.Options).
	BatchSize    int
	Allocator    memory.Allocator
	MaxLineBytes int
	OnBadLine    func(*parse.LineError)
	OnWarning    func(*parse.LineError)
	// Progress, if set, is called with the count of stored bytes read
	// since its previous call.
	Progress func(n int64)
	// TempDir holds Parquet read from a stream ("": os.TempDir).
	TempDir string
	// AnyFormat accepts text whose format has no ${start} (flowq parse,
	// which places nothing in time).
	AnyFormat bool
}

// Stats is what one Read saw.
type Stats struct {
	parse.Stats       // the parser's counters (Records etc. for Parquet too)
	Stored      int64 // bytes read as stored (compressed)
	Parquet     bool
}

// binarySniff is how much of the start of a text input is checked for
// binary data.
const binarySniff = 8 << 10

// Read streams the input's records to fn, each batch valid only during the
// call; fn's error stops the read and is returned. Rejected text lines go to
// OnBadLine and are counted; an input that is not flow logs at all, or is
// cut short, returns an *Error after zero or more batches: the caller must
// discard what it kept of this input.
func (in *Input) Read(ctx context.Context, opts ReadOptions, fn func(arrow.RecordBatch) error) (Stats, error) {
	var st Stats
	raw, err := in.openStored(ctx)
	if err != nil {
		return st, &Error{Name: in.Name, Err: err}
	}
	defer raw.Close()
	counted := &countReader{r: raw, progress: opts.Progress, n: &st.Stored}
	br := bufio.NewReaderSize(counted, 256<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte("PAR1")):
		st.Parquet = true
		err = in.readParquet(ctx, raw, br, opts, &st, fn)
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, zerr := gzip.NewReader(br)
		if zerr != nil {
			return st, &Error{Name: in.Name, Err: fmt.Errorf("gzip: %w", zerr)}
		}
		defer zr.Close()
		err = in.readText(ctx, bufio.NewReaderSize(zr, 256<<10), opts, &st, fn)
	default:
		err = in.readText(ctx, br, opts, &st, fn)
	}
	return st, err
}

// OpenText opens the input's flow-log text: the stored bytes, decompressed
// when they are gzip. Parquet is not text (use Read).
func (in *Input) OpenText(ctx context.Context) (io.ReadCloser, error) {
	raw, err := in.openStored(ctx)
	if err != nil {
		return nil, &Error{Name: in.Name, Err: err}
	}
	br := bufio.NewReaderSize(raw, 256<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte("PAR1")):
		raw.Close()
		return nil, &Error{Name: in.Name, Err: errors.New("Parquet, not flow-log text")}
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			raw.Close()
			return nil, &Error{Name: in.Name, Err: fmt.Errorf("gzip: %w", err)}
		}
		return textCloser{Reader: zr, close: func() error { zr.Close(); return raw.Close() }}, nil
	}
	return textCloser{Reader: br, close: raw.Close}, nil
}

type textCloser struct {
	io.Reader
	close func() error
}

func (t textCloser) Close() error { return t.close() }

// readText parses flow-log text after checking that it is text with a
// usable format.
func (in *Input) readText(ctx context.Context, br *bufio.Reader, opts ReadOptions, st *Stats, fn func(arrow.RecordBatch) error) error {
	head, err := br.Peek(binarySniff)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return in.ioError(err, 0)
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return &Error{Name: in.Name, Err: ErrBinary}
	}
	fm := opts.Format
	if in.format != nil {
		fm = in.format
	}
	if fm == nil {
		fm = parse.DefaultFormat()
	}
	first, _, _ := bytes.Cut(head, []byte{'\n'})
	if hf, ok := parse.HeaderFormat(first); ok {
		fm = hf
	}
	if fm.Index(parse.ColStart) < 0 && !opts.AnyFormat {
		line := int64(0)
		if fm != opts.Format && fm != in.format {
			line = 1 // the header line
		}
		return &Error{Name: in.Name, Line: line, Err: ErrNoStart}
	}
	r := parse.NewReader(br, parse.Options{Format: fm, BatchSize: opts.BatchSize, Allocator: opts.Allocator, Name: in.Name,
		MaxLineBytes: opts.MaxLineBytes, OnBadLine: opts.OnBadLine, OnWarning: opts.OnWarning})
	defer r.Release()
	for r.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := r.RecordBatch()
		if rec.Schema().FieldIndices(parse.ColStart) == nil && !opts.AnyFormat {
			st.Stats = r.Stats()
			return &Error{Name: in.Name, Err: fmt.Errorf("a header line before line %d: %w", r.Stats().Lines, ErrNoStart)}
		}
		if err := fn(rec); err != nil {
			st.Stats = r.Stats()
			return err
		}
	}
	st.Stats = r.Stats()
	if err := r.Err(); err != nil {
		return in.ioError(err, st.Lines)
	}
	return nil
}

func (in *Input) ioError(err error, lines int64) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Name: in.Name, Line: lines, Err: ErrTruncated}
	}
	return &Error{Name: in.Name, Err: err}
}

// countReader counts the stored bytes read.
type countReader struct {
	r        io.Reader
	progress func(int64)
	n        *int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(int64(n))
	}
	return n, err
}

// readerAtSeeker returns the stored bytes as a random-access reader: the
// file itself when raw is one, else a temporary copy (S3 objects).
func readerAtSeeker(raw io.Reader, br *bufio.Reader, dir string) (parquet.ReaderAtSeeker, func(), error) {
	if ras, ok := raw.(parquet.ReaderAtSeeker); ok {
		if _, err := ras.Seek(0, io.SeekStart); err == nil {
			return ras, func() {}, nil
		}
	}
	tmp, err := os.CreateTemp(dir, "flowq-parquet-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, br); err != nil {
		cleanup()
		return nil, nil, err
	}
	return tmp, cleanup, nil
}
