// Package lakedb opens a DuckDB session over a flowq lake: the flows view
// with one fixed schema, flowq's macros, a session in UTC, and for an
// s3:// lake a local cache of the objects DuckDB reads, keyed by ETag.
//
// The view is
//
//	CREATE VIEW flows AS SELECT <every flow-log column>, year, month, day, hour
//	FROM read_parquet([files…], hive_partitioning = true, union_by_name = true,
//	     hive_types = {year: INTEGER, …}) [WHERE "start" in range]
//
// over the files store.Lake.Objects lists (its exactly-once listing: a
// compaction in progress is never counted twice), pruned to the partitions
// the range touches. Its columns are those of Columns, whatever the lake
// and the range: a column no file has is NULL, a range without data gives
// no rows.
package lakedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/store"
)

// ErrEmpty is returned by Open when the lake holds no flow records at all.
var ErrEmpty = errors.New("the lake is empty")

// Options tune Open.
type Options struct {
	// CacheDir keeps the objects of s3:// lakes that DuckDB reads, by ETag,
	// so a second query over the same range downloads nothing. "" means
	// the user's cache directory (os.UserCacheDir()/flowq/lake), or the
	// temporary directory's when there is none.
	CacheDir string
	// S3 is the client that lists and downloads s3:// lakes' objects. nil
	// loads the default configuration, which honours AWS_ENDPOINT_URL.
	S3 *s3.Client
	// Logger receives download progress. nil discards it.
	Logger *slog.Logger
}

// Stats say what Open read.
type Stats struct {
	Files           int   // Parquet files behind the view
	Downloaded      int   // objects downloaded from S3 for this session
	DownloadedBytes int64 // their size
	Cached          int   // objects of an s3:// lake found in the cache
}

// DB is a DuckDB session over a lake. Close it when done.
type DB struct {
	db    *sql.DB
	lake  *store.Lake
	stats Stats
}

// Open lists the lake's live objects in tr, makes them local (an s3://
// lake's through the cache), and opens a session with the flows view over
// them. A lake without any Parquet file is ErrEmpty; a range without data
// is an empty view.
func Open(ctx context.Context, lake *store.Lake, tr store.TimeRange, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	objs, err := lake.Objects(ctx, tr.Filter())
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		all := objs
		if !tr.IsZero() {
			if all, err = lake.Objects(ctx, nil); err != nil {
				return nil, err
			}
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("%w: %s has no Parquet files; add some with 'flowq ingest PATH...'", ErrEmpty, lake.URI())
		}
	}
	d := &DB{lake: lake}
	d.stats.Files = len(objs)
	var files []string
	if len(objs) > 0 {
		files, err = d.localFiles(ctx, objs, opts)
		if err != nil {
			return nil, err
		}
	}
	d.db, err = OpenSession(ctx)
	if err != nil {
		return nil, err
	}
	if err := createView(ctx, d.db, files, tr); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

// localFiles returns a local path per object: in place for a local lake,
// through the ETag cache for an s3:// one.
func (d *DB) localFiles(ctx context.Context, objs []store.Object, opts Options) ([]string, error) {
	if d.lake.Local() != "" {
		return d.lake.LocalFiles(ctx, objs, "")
	}
	dir := opts.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil { // no $HOME: a shared temporary directory still saves downloads
			base = os.TempDir()
		}
		dir = filepath.Join(base, "flowq", "lake")
	}
	c, err := newS3Cache(ctx, d.lake.URI(), dir, opts.S3, opts.Logger)
	if err != nil {
		return nil, err
	}
	return c.files(ctx, objs, &d.stats)
}

// SQL returns the session. It has a single connection: close every Rows
// before the next query.
func (d *DB) SQL() *sql.DB { return d.db }

// Lake returns the lake the session reads.
func (d *DB) Lake() *store.Lake { return d.lake }

// Stats says how many files the view reads and what was downloaded.
func (d *DB) Stats() Stats { return d.stats }

// QueryError adds the query to DuckDB's message, indented under it, so the
// user sees what was run. Cancellation is returned as it is.
func QueryError(err error, q string) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	lines := strings.Split(strings.TrimSpace(q), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return fmt.Errorf("%w\nin query:\n%s", err, strings.Join(lines, "\n"))
}

// Close closes the session. Cached objects stay for the next one.
func (d *DB) Close() error {
	if d.db == nil {
		return nil
	}
	return d.db.Close()
}
