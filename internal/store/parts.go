package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Keys outside the partitions, all under _flowq/ (a name Athena, Hive and
// the README's DuckDB glob never read).
const (
	metaRoot    = "_flowq/"
	sourcesDir  = metaRoot + "sources/"   // <sha>.json: one committed source
	stagingDir  = metaRoot + "staging/"   // <tx>/<n>.staged: chunks before Commit
	pendingDir  = metaRoot + "pending/"   // <sha>.json: a Commit under way
	manifestDir = metaRoot + "compact/"   // <partition>/c-<id>.json: what c-<id>.parquet replaced
	markerDir   = metaRoot + "compacted/" // <partition>/b-<id>.parquet: merged batch files
	userMetaDir = metaRoot + "meta/"      // PutMeta
)

// partsKey is the Parquet footer key-value metadata entry that tells where
// a file's rows came from: a JSON array of parts, in row order.
const partsKey = "flowq.parts"

// part is a run of rows of one file that one write stored: the unit of
// provenance. A batch or source file is one part; a merged file is the
// parts of its inputs, concatenated in row order.
type part struct {
	Name     string `json:"name"`             // the file the rows were written to first
	Source   string `json:"source,omitempty"` // source ID or batch id
	Kind     string `json:"kind,omitempty"`   // SourceInfo.Kind; "batch" for Write
	Rows     int64  `json:"rows"`
	First    int64  `json:"first,omitempty"` // least start, Unix seconds
	Last     int64  `json:"last,omitempty"`  // greatest start
	Ingested int64  `json:"ingested,omitempty"`
}

// KindBatch is the Kind of the records stored by Write (the Lambda).
const KindBatch = "batch"

// startSpan returns the least and greatest start of rec (0, 0 without any).
func startSpan(rec arrow.RecordBatch) (first, last int64) {
	col, ok := startColumn(rec)
	if !ok {
		return 0, 0
	}
	for i, v := range col.Int64Values() {
		if col.IsNull(i) || v < 0 {
			continue
		}
		if first == 0 || v < first {
			first = v
		}
		if v > last {
			last = v
		}
	}
	return first, last
}

func (p *part) widen(first, last int64) {
	if first != 0 && (p.First == 0 || first < p.First) {
		p.First = first
	}
	if last > p.Last {
		p.Last = last
	}
}

func nowUnix() int64 { return time.Now().Unix() }

// writeWithParts writes rec as one Parquet file whose footer names parts.
func (l *Lake) writeWithParts(rec arrow.RecordBatch, parts []part) ([]byte, error) {
	meta, err := json.Marshal(parts)
	if err != nil {
		return nil, err
	}
	buf := l.getBuf()
	err = l.writeParquet(buf, rec.Schema(), func(w *pqarrow.FileWriter) error {
		if err := w.AppendKeyValueMetadata(partsKey, string(meta)); err != nil {
			return err
		}
		return w.Write(rec)
	})
	if err != nil {
		l.out.Put(buf)
		return nil, err
	}
	return buf.Bytes(), nil
}

// fileParts reads the parts of an open Parquet file; a file without them
// (written before flowq kept provenance, or by another tool) is one part
// named name.
func fileParts(pf *file.Reader, name string) ([]part, error) {
	if v := pf.MetaData().KeyValueMetadata().FindValue(partsKey); v != nil {
		var ps []part
		if err := json.Unmarshal([]byte(*v), &ps); err != nil {
			return nil, fmt.Errorf("%s: footer %s: %w", name, partsKey, err)
		}
		return ps, nil
	}
	return []part{{Name: name, Rows: pf.NumRows()}}, nil
}

// readObjectParts reads one object of the lake like readObject and returns
// its parts.
func (l *Lake) readObjectParts(ctx context.Context, o Object, fn func(arrow.RecordBatch) error) ([]part, error) {
	open := l.be.open
	if fn == nil { // the footer only
		open = func(ctx context.Context, key string) (readerAtSeekCloser, error) {
			return l.be.openTail(ctx, key, o.Size)
		}
	}
	r, err := open(ctx, o.Key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(decoderMem)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Key, err)
	}
	defer pf.Close()
	ps, err := fileParts(pf, o.Name())
	if err != nil {
		return nil, err
	}
	if fn == nil {
		return ps, nil
	}
	return ps, readFile(ctx, pf, l.mem, fn)
}

// keepParts returns the rows of one file (rows, whose parts are ps) minus
// the parts named in drop, as new references, and the parts kept.
func keepParts(rows []arrow.RecordBatch, ps []part, drop map[string]bool) ([]arrow.RecordBatch, []part) {
	var out []arrow.RecordBatch
	var kept []part
	var off int64 // row offset of the current part in the file
	for _, p := range ps {
		if !drop[p.Name] {
			kept = append(kept, p)
			out = append(out, sliceRows(rows, off, off+p.Rows)...)
		}
		off += p.Rows
	}
	return out, kept
}

// sliceRows returns rows [from, to) of the concatenation of recs.
func sliceRows(recs []arrow.RecordBatch, from, to int64) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	var base int64
	for _, r := range recs {
		n := r.NumRows()
		lo, hi := max(from, base), min(to, base+n)
		if lo < hi {
			out = append(out, r.NewSlice(lo-base, hi-base))
		}
		base += n
	}
	return out
}
