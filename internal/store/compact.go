package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// manifest lists what a merged file holds.
type manifest struct {
	// Covers names every batch file whose rows the merged file holds,
	// including those merged by earlier compactions.
	Covers []string `json:"covers"`
	Rows   int64    `json:"rows"`
}

func (l *Lake) readManifest(ctx context.Context, key string) (manifest, error) {
	var m manifest
	data, err := l.be.get(ctx, key)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", key, err)
	}
	return m, nil
}

// CompactOptions select what Compact merges.
type CompactOptions struct {
	// Filter selects partitions (nil: all).
	Filter Filter
	// MinFiles is the fewest live files of one schema worth merging
	// (default 2).
	MinFiles int
	// SmallBytes: files at least this large are left alone (default 64 MiB).
	SmallBytes int64
}

// CompactResult tells what Compact did.
type CompactResult struct {
	Partitions int      // partitions that got a merged file
	Merged     int      // input files merged (and then deleted)
	Written    []string // keys of the merged files
	Removed    int      // objects deleted, manifests and superseded files included
	Rows       int64
	BytesIn    int64
	BytesOut   int64
}

// Compact merges the small live files of each selected partition into one
// file per schema. It is safe while Write runs: it merges exactly the files
// it listed, writes the merged file (after its manifest) before deleting
// anything, and deletes exactly the files it merged, so new files written
// meanwhile stay untouched. A file re-written after it was merged (same
// batch id, same content) is recognised from the manifest and deleted
// without being counted twice.
func (l *Lake) Compact(ctx context.Context, opts CompactOptions) (CompactResult, error) {
	if opts.MinFiles < 2 {
		opts.MinFiles = 2
	}
	if opts.SmallBytes <= 0 {
		opts.SmallBytes = 64 << 20
	}
	var res CompactResult
	parts, err := l.scan(ctx, opts.Filter)
	if err != nil {
		return res, err
	}
	for _, ps := range parts {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := l.compactPartition(ctx, ps, opts, &res); err != nil {
			return res, fmt.Errorf("compact %s: %w", ps.part, err)
		}
	}
	return res, nil
}

func (l *Lake) compactPartition(ctx context.Context, ps *partScan, opts CompactOptions, res *CompactResult) error {
	// Which files are already held by a live merged file?
	present := map[string]Object{}
	for _, o := range ps.files {
		present[o.Name()] = o
	}
	covers := map[string][]string{} // live merged name → what it covers
	coveredBy := map[string]bool{}
	var orphans []string // manifests whose merged file is gone
	for merged, key := range ps.manifests {
		if _, ok := present[merged]; !ok {
			orphans = append(orphans, key)
			continue
		}
		m, err := l.readManifest(ctx, key)
		if err != nil {
			if errors.Is(err, ErrNotExist) {
				continue
			}
			return err
		}
		covers[merged] = m.Covers
		for _, n := range m.Covers {
			coveredBy[n] = true
		}
	}
	// Superseded batch files (a compaction crashed before deleting them, or
	// the batch was written again after it was merged) are deleted.
	var superseded []string
	var live []Object
	for _, o := range ps.files {
		if coveredBy[o.Name()] && !o.Compacted {
			superseded = append(superseded, o.Key)
			continue
		}
		live = append(live, o)
	}
	if len(superseded) > 0 {
		if err := l.be.remove(ctx, superseded); err != nil {
			return err
		}
		res.Removed += len(superseded)
	}
	// Group small live files by schema.
	bySchema := map[string][]Object{}
	var keys []string
	schemas := map[string]*arrow.Schema{}
	for _, o := range live {
		if o.Size >= opts.SmallBytes {
			continue
		}
		sc, err := l.schemaOf(ctx, o.Key)
		if err != nil {
			if errors.Is(err, ErrNotExist) {
				continue // replaced or removed meanwhile
			}
			return err
		}
		fp := schemaKey(sc)
		if _, ok := bySchema[fp]; !ok {
			keys = append(keys, fp)
			schemas[fp] = sc
		}
		bySchema[fp] = append(bySchema[fp], o)
	}
	sort.Strings(keys)
	merged := false
	for _, fp := range keys {
		in := bySchema[fp]
		if len(in) < opts.MinFiles {
			continue
		}
		if err := l.merge(ctx, ps.part, schemas[fp], in, covers, ps.manifests, res); err != nil {
			return err
		}
		merged = true
	}
	if merged {
		res.Partitions++
	}
	if len(orphans) > 0 {
		if err := l.be.remove(ctx, orphans); err != nil {
			return err
		}
		res.Removed += len(orphans)
	}
	return nil
}

// merge writes the inputs as one file, then deletes them.
func (l *Lake) merge(ctx context.Context, p Partition, schema *arrow.Schema, in []Object, covers map[string][]string, manifests map[string]string, res *CompactResult) error {
	var m manifest
	var names []string
	for _, o := range in {
		names = append(names, o.Name())
		if o.Compacted {
			m.Covers = append(m.Covers, covers[o.Name()]...)
		} else {
			m.Covers = append(m.Covers, o.Name())
		}
	}
	sort.Strings(names)
	sort.Strings(m.Covers)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	id := compactedPrefix + hex.EncodeToString(sum[:12])

	// Read every input, then write them as one object laid out like a
	// fresh Write (dictionary strings, rows clustered by address pair).
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var bytesIn int64
	for _, o := range in {
		bytesIn += o.Size
		err := l.readObject(ctx, o.Key, func(rec arrow.RecordBatch) error {
			rec.Retain()
			recs = append(recs, rec)
			m.Rows += rec.NumRows()
			return nil
		})
		if err != nil {
			return err
		}
	}
	rec, err := l.groupRecord(schema, recs)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = l.writeParquet(&buf, rec.Schema(), func(w *pqarrow.FileWriter) error { return w.Write(rec) })
	rec.Release()
	if err != nil {
		return err
	}
	mdata, err := json.Marshal(m)
	if err != nil {
		return err
	}
	// Manifest first, then the merged file: a reader that sees the merged
	// file always finds what it covers.
	if err := l.be.put(ctx, keyJoin(p, id+manifestSuffix), mdata, false); err != nil {
		return err
	}
	if err := l.be.put(ctx, keyJoin(p, id+".parquet"), buf.Bytes(), true); err != nil {
		return err
	}
	// Then exactly the inputs, then the manifests of merged inputs.
	var del, delManifests []string
	for _, o := range in {
		del = append(del, o.Key)
		if o.Compacted {
			if k, ok := manifests[o.Name()]; ok {
				delManifests = append(delManifests, k)
			}
		}
	}
	if err := l.be.remove(ctx, del); err != nil {
		return err
	}
	if err := l.be.remove(ctx, delManifests); err != nil {
		return err
	}
	res.Merged += len(in)
	res.Removed += len(del) + len(delManifests)
	res.Written = append(res.Written, keyJoin(p, id+".parquet"))
	res.Rows += m.Rows
	res.BytesIn += bytesIn
	res.BytesOut += int64(buf.Len())
	return nil
}

func (l *Lake) schemaOf(ctx context.Context, key string) (*arrow.Schema, error) {
	r, err := l.be.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return parquetSchema(r, l.mem)
}

// schemaKey identifies a schema by its field names and types.
func schemaKey(s *arrow.Schema) string {
	var b strings.Builder
	for _, f := range s.Fields() {
		b.WriteString(f.Name)
		b.WriteByte(':')
		b.WriteString(f.Type.String())
		b.WriteByte(',')
	}
	return b.String()
}
