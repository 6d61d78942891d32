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
// the range touches, through the session's own hard links to them, so a
// compaction that deletes them later takes nothing from the session. Its columns are those of Columns, whatever the lake
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
	"path"
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

	// listed, if set, is called with each listing Open makes, before it
	// links or downloads any of it (tests of a compaction racing Open).
	listed func([]store.Object) error
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
	pin   *pin // the files the view reads (nil: none)
	stats Stats
}

// Open lists the lake's live objects in tr, makes them local (an s3://
// lake's through the cache), and opens a session with the flows view over
// them. A lake without any Parquet file is ErrEmpty; a range without data
// is an empty view.
//
// The view reads the session's own hard links to the files (see pin): a
// compaction that deletes them later, while the session still queries
// them, takes nothing from it. One that deletes a listed object before it
// is linked or downloaded makes Open list again, up to store.MaxListings
// times (then an error wrapping store.ErrLakeChanging).
func Open(ctx context.Context, lake *store.Lake, tr store.TimeRange, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &DB{lake: lake}
	files, err := d.listFiles(ctx, tr, opts)
	if err != nil {
		d.pin.remove()
		return nil, err
	}
	d.db, err = OpenSession(ctx)
	if err != nil {
		d.pin.remove()
		return nil, err
	}
	if err := createView(ctx, d.db, files, tr); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// listFiles lists the lake's live objects in tr and pins them, listing
// again while listed objects vanish before they are pinned.
func (d *DB) listFiles(ctx context.Context, tr store.TimeRange, opts Options) ([]string, error) {
	var gone error
	for range store.MaxListings {
		objs, err := d.lake.Objects(ctx, tr.Filter())
		if err != nil {
			return nil, err
		}
		if opts.listed != nil {
			if err := opts.listed(objs); err != nil {
				return nil, err
			}
		}
		if len(objs) == 0 {
			all := objs
			if !tr.IsZero() {
				if all, err = d.lake.Objects(ctx, nil); err != nil {
					return nil, err
				}
			}
			if len(all) == 0 {
				return nil, fmt.Errorf("%w: %s has no Parquet files; add some with 'flowq ingest PATH...'", ErrEmpty, d.lake.URI())
			}
			return nil, nil
		}
		d.stats.Files, d.stats.Cached = len(objs), 0
		files, err := d.localFiles(ctx, objs, opts)
		if err == nil {
			return files, nil
		}
		d.pin.remove()
		d.pin = nil
		if !errors.Is(err, store.ErrNotExist) {
			return nil, err
		}
		gone = err
	}
	return nil, fmt.Errorf("%w: %d listings in a row found objects deleted before they could be read (last: %v): is a compaction running in a loop? Run again later",
		store.ErrLakeChanging, store.MaxListings, gone)
}

// localFiles returns a local path per object, a link in the session's pin
// to the lake's file (a local lake) or to its copy in the ETag cache (an
// s3:// lake).
func (d *DB) localFiles(ctx context.Context, objs []store.Object, opts Options) ([]string, error) {
	var srcs []string
	var parent string
	if d.lake.Local() != "" {
		var err error
		if srcs, err = d.lake.LocalFiles(ctx, objs, ""); err != nil {
			return nil, err
		}
		parent = d.lake.SessionsDir()
	} else {
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
		if srcs, err = c.files(ctx, objs, &d.stats); err != nil {
			return nil, err
		}
		parent = filepath.Join(dir, ".sessions")
	}
	p, err := newPin(parent)
	if err != nil { // a lake directory this user cannot write: copies elsewhere
		opts.Logger.Info("cannot link the lake's files; copying them for the session", "reason", err)
		if p, err = newPin(filepath.Join(os.TempDir(), "flowq-sessions")); err != nil {
			return nil, err
		}
	}
	d.pin = p
	files := make([]string, len(objs))
	for i, o := range objs {
		if files[i], err = p.add(srcs[i], path.Join(path.Dir(o.Key), filepath.Base(srcs[i]))); err != nil {
			return nil, err
		}
	}
	if p.copied > 0 {
		opts.Logger.Info("copied lake files into the session directory (hard links refused there)", "files", p.copied, "bytes", p.bytes, "dir", p.dir)
	}
	return files, nil
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

// Close closes the session and removes its links. Cached objects stay for
// the next one.
func (d *DB) Close() error {
	var err error
	if d.db != nil {
		err = d.db.Close()
		d.db = nil
	}
	if perr := d.pin.remove(); err == nil {
		err = perr
	}
	d.pin = nil
	return err
}
