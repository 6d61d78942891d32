package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/source"
	"github.com/flowq/flowq/internal/store"
)

// ErrSourceExists is returned by SourceLake.Begin when a source of that
// identity is already stored.
var ErrSourceExists = errors.New("source already stored")

// SourceLake stores whole inputs, each once, visible only once committed
// (*store.Lake through Sources).
type SourceLake interface {
	// Begin starts storing a source; errors.Is(err, ErrSourceExists) when
	// one of that identity is already committed.
	Begin(ctx context.Context, info source.Info) (SourceWriter, error)
}

// SourceWriter streams one source's records into the lake.
type SourceWriter interface {
	Write(ctx context.Context, rec arrow.RecordBatch) error
	// Commit makes the records visible to every reader and says how many
	// lake objects, of how many bytes, it wrote.
	Commit(ctx context.Context) (objects int, bytes int64, err error)
	// Abort leaves nothing of the source that a reader would count.
	Abort(ctx context.Context) error
}

// chunkRows is how many records one lake write of a source gets when the
// lake stores whole batches (WriteSources): a bound on memory.
const chunkRows = 128 << 10

// WriteSources stores sources through a batch Lake: a source's records are
// written in chunks named id#0, id#1, ..., so storing the same content
// again rewrites the same objects. It is the path for lakes without source
// records; chunks written before a failure are not removed.
func WriteSources(l Lake) SourceLake { return batchSources{l} }

type batchSources struct{ l Lake }

func (b batchSources) Begin(_ context.Context, info source.Info) (SourceWriter, error) {
	return &batchWriter{l: b.l, id: info.ID}, nil
}

type batchWriter struct {
	l    Lake
	id   string
	n    int
	recs []arrow.RecordBatch
	rows int64

	objects int   // lake objects written so far
	bytes   int64 // and their size
}

func (w *batchWriter) Write(ctx context.Context, rec arrow.RecordBatch) error {
	rec.Retain()
	w.recs = append(w.recs, rec)
	w.rows += rec.NumRows()
	if w.rows >= chunkRows {
		return w.flush(ctx)
	}
	return nil
}

func (w *batchWriter) flush(ctx context.Context) error {
	if len(w.recs) == 0 {
		return nil
	}
	wr, err := w.l.Write(ctx, w.id+"#"+strconv.Itoa(w.n), w.recs)
	w.n++
	w.objects += len(wr.Objects)
	w.bytes += wr.Bytes
	w.release()
	return err
}

func (w *batchWriter) release() {
	for _, r := range w.recs {
		r.Release()
	}
	w.recs, w.rows = nil, 0
}

func (w *batchWriter) Commit(ctx context.Context) (int, int64, error) {
	err := w.flush(ctx)
	return w.objects, w.bytes, err
}

func (w *batchWriter) Abort(context.Context) error {
	w.release()
	return nil
}

// LakeSources stores sources in the lake's source records (contract C2):
// exactly once per identity, nothing visible before Commit.
func LakeSources(l *store.Lake) SourceLake { return lakeSources{l} }

type lakeSources struct{ l *store.Lake }

func (s lakeSources) Begin(ctx context.Context, info source.Info) (SourceWriter, error) {
	w, err := s.l.Begin(ctx, store.SourceInfo{ID: info.ID, Name: info.Name, Kind: info.Kind, Digest: info.Digest})
	if errors.Is(err, store.ErrSourceExists) {
		return nil, fmt.Errorf("%w: %w", ErrSourceExists, err)
	}
	if err != nil {
		return nil, err
	}
	return lakeWriter{w}, nil
}

type lakeWriter struct{ w *store.SourceWriter }

func (w lakeWriter) Write(ctx context.Context, rec arrow.RecordBatch) error {
	return w.w.Write(ctx, rec)
}
func (w lakeWriter) Abort(ctx context.Context) error { return w.w.Abort(ctx) }
func (w lakeWriter) Commit(ctx context.Context) (int, int64, error) {
	src, err := w.w.Commit(ctx)
	if errors.Is(err, store.ErrSourceExists) {
		return 0, 0, fmt.Errorf("%w: %w", ErrSourceExists, err)
	}
	return src.Files, src.Bytes, err
}
