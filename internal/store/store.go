// Package store keeps flow-log record batches as a Hive-partitioned Parquet
// lake, in a local directory or under s3://bucket/prefix, and counts every
// record once for every reader: flowq (Objects, Scan), plain DuckDB over
// <lake>/year=*/month=*/day=*/hour=*/*.parquet, and Athena, which reads
// every file of a partition directory whose name starts with neither _ nor
// ".".
//
// # Layout
//
//	<root>/year=YYYY/month=MM/day=DD/hour=HH/b-<id>[-N].parquet   Write (the Lambda's batches)
//	<root>/year=YYYY/month=MM/day=DD/hour=HH/s-<tx>-<n>.parquet    a committed source's chunks
//	<root>/year=YYYY/month=MM/day=DD/hour=HH/c-<id>.parquet        Compact's merged files
//	<root>/_flowq/compact/<partition>/c-<id>.json   what c-<id>.parquet replaced (manifest)
//	<root>/_flowq/compacted/<partition>/b-<id>.parquet   empty marker: that batch file was merged
//	<root>/_flowq/sources/<sha256 of ID>.json       one committed source
//	<root>/_flowq/staging/<tx>/<n>.staged          a source's chunks before Commit
//	<root>/_flowq/pending/<sha256 of ID>.json       a Commit under way (for recovery)
//	<root>/_flowq/meta/<name>                      PutMeta
//	<root>/_flowq/sessions/<id>/                   a reader's links (SessionsDir)
//
// Only flow-log Parquet files live in the partition directories; everything
// else is under _flowq/, which no flow-log reader reads. The partition is the
// UTC hour of the record's start. Records without a start (null or
// negative) have no partition: Write and SourceWriter count them as
// rejected and do not store them.
//
// Columns keep the parser's schema, which is AWS's own flow-log Parquet
// schema: column = field name with "-" replaced by "_"; only the fields of
// the format are present (CheckFlowSchema refuses anything else). Files are
// zstd-compressed with dictionary encoding for strings and small integers
// and delta encoding for the time columns, and the rows of each written
// file are clustered by (srcaddr, dstaddr), keeping time order within a
// pair: smaller files, and DuckDB's GROUP BY on the pair runs at half the
// CPU.
//
// # Provenance and sources
//
// Every file's Parquet footer holds, under the key flowq.parts, the parts
// it is made of in row order: for each, the file it was first written to,
// the source ID or batch id, the record count, the span of start times and
// when it was ingested. A source (Begin/Write/Commit) is identified by the
// caller's content-based ID: the same ID committed again is refused with
// ErrSourceExists and nothing is written; the same ID with another Digest
// replaces the earlier version at Commit. Its chunks are staged under
// _flowq/staging (names no Parquet glob matches) and moved into the
// partitions by Commit after the source's record is written (state
// "committing", with a pending marker), so no reader sees any of them
// before Commit, Abort leaves nothing, and a crash before Commit leaves
// only staged chunks, deleted by a later Compact once stale. A crash
// during Commit is finished by the next Compact (which finds it by its
// pending marker), Begin of that source or Sources. Batches stored by Write
// (the Lambda) are sources of Kind "batch", found from their footers
// without any extra request on the write path. RemoveSource removes
// exactly one source's records, rewriting merged files that also hold
// others'.
//
// # Compaction
//
// Compact merges the small files of a partition into one c-<id>.parquet,
// keeping the inputs' rows in order (each part stays contiguous). Steps:
// manifest (naming every input, merged files included) → merged file →
// markers of the merged batch files → delete the inputs → delete the
// manifests of merged inputs. Objects lists every Parquet file except the
// inputs of a merged file that exists, so flowq counts every record once
// at every step and after a crash at any step; a Scan that finds a listed
// file gone lists again and gives only the parts it has not given yet.
// Readers that glob the
// directory see both copies between "merged file written" and "inputs
// deleted" only; after a crash there, the next Compact deletes the inputs
// before anything else. Write checks the marker of each object before it
// puts it and again after (a GET each): a batch that was already merged is
// not put, so a Lambda retry never adds a second copy, not even for a
// moment; a retry racing a compaction is removed either by Write (marker
// seen after its put) or by the compaction's deletion (marker not yet
// written). Run one Compact at a time per lake.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/parse"
)

// Defaults of Options.
const (
	DefaultRowGroupRows     = 1 << 20
	DefaultCompressionLevel = 1 // zstd "fastest": most of the ratio at a fraction of the CPU
)

// ErrNotExist is wrapped by errors about a lake or object that does not exist.
var ErrNotExist = errors.New("does not exist")

// Options tune a Lake.
type Options struct {
	// S3 is the client for s3:// lakes. nil loads the default config from the
	// environment, which honours AWS_ENDPOINT_URL.
	S3 *s3.Client
	// Allocator for Arrow and Parquet buffers (default: a pool of zeroed
	// buffers of the Lake's own, so that a long-lived Lake recycles the
	// Parquet writer's buffers from one Write to the next).
	Allocator memory.Allocator
	// RowGroupRows is the most rows per Parquet row group (default 1Mi).
	RowGroupRows int64
	// CompressionLevel is the zstd level (default 1).
	CompressionLevel int
	// ChunkRows is how many records a SourceWriter holds before it stages
	// them (default DefaultChunkRows): memory is bounded by it, not by the
	// size of the source.
	ChunkRows int64
	// Create makes a local lake directory if it does not exist. Without it,
	// Open of a missing directory fails with ErrNotExist.
	Create bool
}

// Lake is a Parquet lake. It is safe for concurrent use.
type Lake struct {
	uri  string
	be   backend
	opts Options
	mem  memory.Allocator
	// raw is mem without the zeroing, for the buffers Write fills itself.
	raw memory.Allocator

	scratch sync.Pool // *dictScratch, reused across writes
	out     sync.Pool // *bytes.Buffer, reused across writes

	// removeHook is called after each step of a merged file's rewrite by
	// RemoveSource (the Step constants); tests make it fail, as a crash.
	removeHook func(step string) error
}

// Open opens the lake at uri: "./dir", "/abs/dir", "file:///abs/dir" or
// "s3://bucket/prefix".
func Open(ctx context.Context, uri string, opts Options) (*Lake, error) {
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.CompressionLevel == 0 {
		opts.CompressionLevel = DefaultCompressionLevel
	}
	mem, raw := opts.Allocator, opts.Allocator
	if mem == nil {
		pool := parse.NewPool()
		mem, raw = zeroedPool{pool}, pool
	}
	var be backend
	var err error
	switch {
	case strings.HasPrefix(uri, "s3://"):
		be, err = newS3Backend(ctx, uri, opts.S3)
	case strings.HasPrefix(uri, "file://"):
		u, perr := url.Parse(uri)
		if perr != nil {
			return nil, fmt.Errorf("lake %s: %w", uri, perr)
		}
		be, err = newLocalBackend(filepath.FromSlash(u.Path), opts.Create)
	case strings.Contains(uri, "://"):
		return nil, fmt.Errorf("lake %s: unsupported scheme (use a directory, file:// or s3://)", uri)
	default:
		be, err = newLocalBackend(uri, opts.Create)
	}
	if err != nil {
		return nil, fmt.Errorf("lake %s: %w", uri, err)
	}
	return &Lake{uri: uri, be: be, opts: opts, mem: mem, raw: raw, removeHook: func(string) error { return nil }}, nil
}

// URI returns the lake's location as given to Open.
func (l *Lake) URI() string { return l.uri }

// Local returns the lake's directory, or "" for a remote lake.
func (l *Lake) Local() string {
	if lb, ok := l.be.(*localBackend); ok {
		return lb.root
	}
	return ""
}

// Object is one Parquet file of the lake.
type Object struct {
	Key       string // relative to the lake root: "year=…/hour=HH/b-….parquet"
	Partition Partition
	Size      int64
	Compacted bool // written by Compact
}

// Name returns the file name of the object.
func (o Object) Name() string { return path.Base(o.Key) }

// Filter selects partitions; nil selects all.
type Filter func(Partition) bool

// Objects lists the live Parquet files of the lake in key order: files that
// a compaction has merged into another one are left out (see the package
// documentation). A missing local lake is an error wrapping ErrNotExist.
func (l *Lake) Objects(ctx context.Context, filter Filter) ([]Object, error) {
	parts, err := l.scan(ctx, filter)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, ps := range parts {
		covered, err := l.covered(ctx, ps)
		if err != nil {
			return nil, err
		}
		for _, o := range ps.files {
			if !covered[o.Name()] {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// partScan is what one listing found in a partition.
type partScan struct {
	part      Partition
	files     []Object
	manifests map[string]string // c-<id>.parquet → key of its manifest
	modified  map[string]time.Time
}

// scan lists the lake, grouping keys by partition in order. Manifests are
// found under _flowq/compact/<partition>/ (and, in lakes written before
// they moved there, beside the merged file).
func (l *Lake) scan(ctx context.Context, filter Filter) ([]*partScan, error) {
	// Two listings: the partitions, and the manifests. The rest of
	// _flowq/ (sources, markers) can be large and is not listed.
	infos, err := l.be.list(ctx, partitionPrefix)
	if err != nil {
		return nil, err
	}
	ms, err := l.be.list(ctx, manifestDir)
	if err != nil {
		return nil, err
	}
	infos = append(infos, ms...)
	byPart := map[Partition]*partScan{}
	var order []*partScan
	for _, in := range infos {
		key := in.key
		inMeta := strings.HasPrefix(key, manifestDir)
		if inMeta {
			key = strings.TrimPrefix(key, manifestDir)
		}
		dir, name := path.Split(key)
		p, ok := parsePartition(strings.TrimSuffix(dir, "/"))
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if filter != nil && !filter(p) {
			continue
		}
		ps := byPart[p]
		if ps == nil {
			ps = &partScan{part: p, manifests: map[string]string{}, modified: map[string]time.Time{}}
			byPart[p] = ps
			order = append(order, ps)
		}
		switch {
		case !inMeta && strings.HasSuffix(name, ".parquet"):
			ps.files = append(ps.files, Object{Key: in.key, Partition: p, Size: in.size, Compacted: strings.HasPrefix(name, compactedPrefix)})
		case strings.HasPrefix(name, compactedPrefix) && strings.HasSuffix(name, manifestSuffix):
			merged := strings.TrimSuffix(name, manifestSuffix) + ".parquet"
			if _, dup := ps.manifests[merged]; dup && !inMeta {
				continue // the one under _flowq/ wins
			}
			ps.manifests[merged] = in.key
		}
		ps.modified[in.key] = in.modified
	}
	sort.Slice(order, func(i, j int) bool { return order[i].part.Time().Before(order[j].part.Time()) })
	for _, ps := range order {
		sort.Slice(ps.files, func(i, j int) bool { return ps.files[i].Key < ps.files[j].Key })
	}
	return order, nil
}

// liveManifests reads the manifests of the partition's merged files that
// exist, by merged file name.
func (l *Lake) liveManifests(ctx context.Context, ps *partScan) (map[string]manifest, error) {
	if len(ps.manifests) == 0 {
		return nil, nil
	}
	present := make(map[string]bool, len(ps.files))
	for _, o := range ps.files {
		present[o.Name()] = true
	}
	out := map[string]manifest{}
	for merged, key := range ps.manifests {
		if !present[merged] {
			continue // being written or being removed: its inputs are live
		}
		m, err := l.readManifest(ctx, key)
		if err != nil {
			if errors.Is(err, ErrNotExist) {
				continue // removed while we looked: so was merged
			}
			return nil, err
		}
		out[merged] = m
	}
	return out, nil
}

// covered returns the names of the partition's files that a live merged
// file already holds: the inputs of every merged file that exists, merged
// files among them.
func (l *Lake) covered(ctx context.Context, ps *partScan) (map[string]bool, error) {
	ms, err := l.liveManifests(ctx, ps)
	if err != nil {
		return nil, err
	}
	covered := map[string]bool{}
	for _, m := range ms {
		for _, n := range m.replaced() {
			covered[n] = true
		}
	}
	return covered, nil
}

// batchName returns the deterministic object name of a batch's i-th schema.
func batchName(batchID string, i int) string {
	sum := sha256.Sum256([]byte(batchID))
	name := batchPrefix + hex.EncodeToString(sum[:12])
	if i > 0 {
		name += "-" + strconv.Itoa(i)
	}
	return name + ".parquet"
}

const (
	partitionPrefix = "year="
	batchPrefix     = "b-"
	sourcePrefix    = "s-"
	compactedPrefix = "c-"
	manifestSuffix  = ".json"
)

// LocalFiles returns a local path for each object, for readers such as
// DuckDB that need files: the object's own path in a local lake; for an S3
// lake, the object is downloaded (8 at a time) to dir under its key, so
// the Hive partition directories are kept.
func (l *Lake) LocalFiles(ctx context.Context, objs []Object, dir string) ([]string, error) {
	out := make([]string, 0, len(objs))
	if lb, ok := l.be.(*localBackend); ok {
		for _, o := range objs {
			out = append(out, lb.path(o.Key))
		}
		return out, nil
	}
	out = out[:len(objs)]
	sem := make(chan struct{}, 8) // downloads in flight
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	for i, o := range objs {
		p := filepath.Join(dir, filepath.FromSlash(o.Key))
		out[i] = p
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := l.be.get(ctx, o.Key)
			if err == nil {
				err = os.MkdirAll(filepath.Dir(p), 0o755)
			}
			if err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
