package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowq/flowq/internal/inventory/invdb"
	"github.com/flowq/flowq/internal/lakedb"
	"github.com/flowq/flowq/internal/store"
)

// lakeDB is a DuckDB session over the lake named by --lake (see
// internal/lakedb): the flows view in the time range, flowq's macros, UTC.
type lakeDB struct {
	DB    *sql.DB
	Lake  *store.Lake
	Files int // Parquet files behind the view
	s     *lakedb.DB
}

// openLakeDB opens the lake named by --lake and a DuckDB session over it,
// restricted to tr (see openSession).
func openLakeDB(ctx context.Context, a *app, tr timeRange) (*lakeDB, error) {
	lake, err := openLake(ctx, a)
	if err != nil {
		return nil, err
	}
	return openSession(ctx, a, lake, tr)
}

// openLake opens the lake named by --lake. A missing lake is an error that
// says how to fill it.
func openLake(ctx context.Context, a *app) (*store.Lake, error) {
	lake, err := store.Open(ctx, a.lake, store.Options{})
	if errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("no lake at %s: create one with 'flowq ingest PATH...' or point --lake (or FLOWQ_LAKE) at an existing one", a.lake)
	}
	return lake, err
}

// openSession opens a DuckDB session over lake, restricted to tr, with the
// newest inventory snapshot as tables. An empty lake is an error that says
// how to fill it; a range without data is an empty view. Objects of an
// s3:// lake are cached under $FLOWQ_CACHE (default: the user's cache
// directory).
func openSession(ctx context.Context, a *app, lake *store.Lake, tr timeRange) (*lakeDB, error) {
	log := slog.New(slog.DiscardHandler)
	if a.stderr != nil && a.terminal(a.stderr) {
		log = slog.New(slog.NewTextHandler(a.stderr, nil)) // download progress
	}
	s, err := lakedb.Open(ctx, lake, tr, lakedb.Options{CacheDir: a.getenv("FLOWQ_CACHE"), Logger: log})
	if err != nil {
		return nil, err
	}
	// The newest inventory snapshot as tables (interfaces, subnets,
	// security_group_rules, ...), empty without one.
	if err := invdb.Register(ctx, s.SQL(), lake, time.Time{}); err != nil {
		s.Close()
		return nil, err
	}
	return &lakeDB{DB: s.SQL(), Lake: lake, Files: s.Stats().Files, s: s}, nil
}

// Close closes the session.
func (d *lakeDB) Close() error { return d.s.Close() }
