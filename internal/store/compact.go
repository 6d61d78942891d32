package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// manifest lists what a merged file replaced. It lives under
// _flowq/compact/<partition>/c-<id>.json, outside the partitions.
type manifest struct {
	// Inputs names the files (batch, source or merged files) this merged
	// file holds the rows of.
	Inputs []string `json:"inputs"`
	// Covers is the field of manifests written before Inputs: every batch
	// file held.
	Covers []string `json:"covers,omitempty"`
	// Parts tells where the rows came from, in row order.
	Parts []part `json:"parts,omitempty"`
	Rows  int64  `json:"rows"`
}

// replaced returns the names of the files whose rows the merged file holds.
func (m manifest) replaced() []string { return append(append([]string(nil), m.Inputs...), m.Covers...) }

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

// Compaction steps, in order, as CompactOptions.Hook sees them.
const (
	StepManifest = "manifest written"      // _flowq/compact/<p>/c-<id>.json
	StepMerged   = "merged file written"   // <p>/c-<id>.parquet: plain readers see two copies from here…
	StepMarkers  = "markers written"       // _flowq/compacted/<p>/b-…: retries of merged batches are dropped
	StepInputs   = "inputs removed"        // …to here
	StepCleanup  = "old manifests removed" // manifests of merged files that were merged again
)

// CompactOptions select what Compact merges.
type CompactOptions struct {
	// Filter selects partitions (nil: all).
	Filter Filter
	// MinFiles is the fewest live files of one schema worth merging
	// (default 2).
	MinFiles int
	// SmallBytes: files at least this large are left alone (default 64 MiB).
	SmallBytes int64
	// Hook, if set, is called after each step of each merge (the Step
	// constants); an error stops Compact right there, as a crash would.
	// For tests of crash safety.
	Hook func(step string) error
	// MarkerTTL is how long the marker of a merged batch file is kept
	// (default DefaultMarkerTTL): a retry of that batch later than this
	// would be stored again.
	MarkerTTL time.Duration
}

// DefaultMarkerTTL is well beyond the Lambda's retry horizon (an
// asynchronous event is retried for at most 6 hours).
const DefaultMarkerTTL = 7 * 24 * time.Hour

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

// orphanAge is how old a manifest without its merged file must be before
// Compact deletes it (younger ones may belong to a compaction under way).
const orphanAge = time.Hour

// Compact merges the small live files of each selected partition into one
// file per schema. It is safe while Write runs: it merges exactly the files
// it listed, writes the merged file (after its manifest) before deleting
// anything, and deletes exactly the files it merged, so new files written
// meanwhile stay untouched. It first completes any earlier compaction that
// was interrupted (deletes the inputs of merged files that exist), so after
// it returns every file under the partitions holds rows no other file
// holds. Run one Compact at a time per lake.
func (l *Lake) Compact(ctx context.Context, opts CompactOptions) (CompactResult, error) {
	if opts.MinFiles < 2 {
		opts.MinFiles = 2
	}
	if opts.SmallBytes <= 0 {
		opts.SmallBytes = 64 << 20
	}
	if opts.MarkerTTL <= 0 {
		opts.MarkerTTL = DefaultMarkerTTL
	}
	if opts.Hook == nil {
		opts.Hook = func(string) error { return nil }
	}
	var res CompactResult
	if err := l.recoverSources(ctx); err != nil {
		return res, err
	}
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
	return res, l.pruneMarkers(ctx, opts.MarkerTTL, &res)
}

func (l *Lake) compactPartition(ctx context.Context, ps *partScan, opts CompactOptions, res *CompactResult) error {
	live, _, err := l.settle(ctx, ps, res)
	if err != nil {
		return err
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
		if err := l.merge(ctx, ps.part, schemas[fp], in, nil, ps.manifests, opts.Hook, res); err != nil {
			return err
		}
		merged = true
	}
	if merged {
		res.Partitions++
	}
	return nil
}

// merge writes the rows of in, minus the parts drop names, as one merged
// file, then deletes in. The rows keep their order (each input's rows are
// clustered already), so every part stays a contiguous run of rows.
func (l *Lake) merge(ctx context.Context, p Partition, schema *arrow.Schema, in []Object, drop map[string]bool, manifests map[string]string, hook func(string) error, res *CompactResult) error {
	var m manifest
	for _, o := range in {
		m.Inputs = append(m.Inputs, o.Name())
	}
	sort.Strings(m.Inputs)
	h := sha256.New()
	h.Write([]byte(strings.Join(m.Inputs, "\n")))
	if len(drop) > 0 {
		dropped := make([]string, 0, len(drop))
		for n := range drop {
			dropped = append(dropped, n)
		}
		sort.Strings(dropped)
		h.Write([]byte("\x00" + strings.Join(dropped, "\n")))
	}
	id := compactedPrefix + hex.EncodeToString(h.Sum(nil)[:12])

	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var bytesIn int64
	for _, o := range in {
		bytesIn += o.Size
		var rows []arrow.RecordBatch
		ps, err := l.readObjectParts(ctx, o, func(rec arrow.RecordBatch) error {
			rec.Retain()
			rows = append(rows, rec)
			return nil
		})
		if err != nil {
			for _, r := range rows {
				r.Release()
			}
			return fmt.Errorf("read %s: %w", o.Key, err)
		}
		kept, keptParts := keepParts(rows, ps, drop)
		for _, r := range rows {
			r.Release()
		}
		recs = append(recs, kept...)
		m.Parts = append(m.Parts, keptParts...)
	}
	for _, r := range recs {
		m.Rows += r.NumRows()
	}
	var data []byte
	if m.Rows > 0 {
		rec, err := l.groupRecord(schema, recs, false)
		if err != nil {
			return err
		}
		data, err = l.writeWithParts(rec, m.Parts)
		rec.Release()
		if err != nil {
			return err
		}
		defer l.putBuf(data)
	}
	mdata, err := json.Marshal(m)
	if err != nil {
		return err
	}
	mergedKey := keyJoin(p, id+".parquet")
	if m.Rows > 0 {
		// Manifest first, then the merged file: a reader that sees the
		// merged file always finds what it replaced.
		if err := l.be.put(ctx, manifestKey(p, id+".parquet"), mdata, false); err != nil {
			return err
		}
		if err := hook(StepManifest); err != nil {
			return err
		}
		if err := l.be.put(ctx, mergedKey, data, true); err != nil {
			return err
		}
	}
	if err := hook(StepMerged); err != nil {
		return err
	}
	// Markers of the batch files merged: Write drops a retry's copy.
	for _, o := range in {
		if strings.HasPrefix(o.Name(), batchPrefix) {
			if err := l.be.put(ctx, markerDir+o.Key, nil, false); err != nil {
				return err
			}
		}
	}
	if err := hook(StepMarkers); err != nil {
		return err
	}
	// Then exactly the inputs, then the manifests of merged inputs.
	var del, delManifests []string
	for _, o := range in {
		del = append(del, o.Key)
		if k, ok := manifests[o.Name()]; ok && o.Compacted {
			delManifests = append(delManifests, k)
		}
	}
	if err := l.be.remove(ctx, del); err != nil {
		return err
	}
	if err := hook(StepInputs); err != nil {
		return err
	}
	if err := l.be.remove(ctx, delManifests); err != nil {
		return err
	}
	if err := hook(StepCleanup); err != nil {
		return err
	}
	res.Merged += len(in)
	res.Removed += len(del) + len(delManifests)
	if m.Rows > 0 {
		res.Written = append(res.Written, mergedKey)
	}
	res.Rows += m.Rows
	res.BytesIn += bytesIn
	res.BytesOut += int64(len(data))
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
