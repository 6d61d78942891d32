package report

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/store"
)

// LakeConfig says which report of a lake to write where.
type LakeConfig struct {
	Config
	// Range bounds the report (Config's Since and Until are set from it).
	// With Since set, the previous period of equal length is read too.
	Range store.TimeRange
	// Path is the HTML file to write.
	Path string
	// Lake is the lake the alerts and the inventory's names come from.
	Lake *store.Lake
	// Open opens a DuckDB session whose flows view covers tr; close frees it.
	Open func(ctx context.Context, tr store.TimeRange) (db *sql.DB, close func() error, err error)
	// Alerts, optional, gives the report's alerts; nil leaves them out.
	Alerts func(ctx context.Context, lake *store.Lake, tr store.TimeRange) ([]detect.Alert, error)
}

// File is a report WriteLake wrote.
type File struct {
	Path string
	Size int64
	Took time.Duration
	Data *Data
}

// Span is the report's range as the page heads it, in UTC.
func (f File) Span() string {
	return f.Data.Since.Format("2006-01-02 15:04") + " – " + f.Data.Until.Format("2006-01-02 15:04")
}

// WriteLake builds the report of c.Range over the lake, with hosts and
// subnets named from the lake's inventory, and writes it to c.Path
// (through a temporary file, so a failed run leaves no half page).
func WriteLake(ctx context.Context, c LakeConfig) (File, error) {
	start := time.Now()
	res := File{Path: c.Path}
	tr := c.Range
	db, closeDB, err := c.Open(ctx, tr)
	if err != nil {
		return res, err
	}
	defer closeDB()
	in := Input{DB: db}
	if !tr.Since.IsZero() {
		prev, closePrev, err := c.Open(ctx, store.TimeRange{Since: tr.Since.Add(-tr.Until.Sub(tr.Since)), Until: tr.Since})
		if err != nil {
			return res, err
		}
		defer closePrev()
		in.Prev = prev
	}
	if c.Alerts != nil {
		if in.Alerts, err = c.Alerts(ctx, c.Lake, tr); err != nil {
			return res, err
		}
	}
	cfg := c.Config
	if cfg.Names, err = LakeNames(ctx, c.Lake, tr.Until); err != nil {
		return res, err
	}
	cfg.Since, cfg.Until = tr.Since, tr.Until
	if res.Data, err = Build(ctx, in, cfg); err != nil {
		return res, err
	}
	if res.Size, err = WriteFile(c.Path, res.Data); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

// LakeNames names hosts and subnets from the lake's inventory snapshot in
// force at t (zero: the newest); nil without one.
func LakeNames(ctx context.Context, lake *store.Lake, at time.Time) (Names, error) {
	arch, err := inventory.OpenArchive(ctx, lake, 1)
	if err != nil {
		return nil, err
	}
	x, err := arch.AsOf(ctx, at)
	if errors.Is(err, inventory.ErrNoSnapshot) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return IndexNames(x), nil
}
