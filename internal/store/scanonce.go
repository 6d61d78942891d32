package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// MaxListings is how many listings a reader makes when the objects it
// listed keep vanishing before it reads them (a compaction deleting what it
// merged, each time) before it gives up.
const MaxListings = 5

// ErrLakeChanging is wrapped by the error of a reader that gave up after
// MaxListings listings.
var ErrLakeChanging = errors.New("the lake kept changing while it was read")

// ScanObjects is ScanWith over objs, a listing of opts.Filter's partitions
// the caller made with Objects (a reader that scans a lake partition after
// partition lists it once, not once per partition): it lists again only
// when a compaction deleted one of them before it was read.
func (l *Lake) ScanObjects(ctx context.Context, objs []Object, opts ScanOptions, fn func(arrow.RecordBatch) error) error {
	if objs == nil {
		objs = []Object{} // listed: nothing (nil would list)
	}
	return l.scanOnce(ctx, objs, opts, fn)
}

// scanOnce gives fn every record of the listed objects once (objs, or a
// listing of its own when nil), even when a compaction deletes listed
// objects before they are read. Objects are read whole (S3's are
// downloaded at open; a local file stays readable once open), so a
// vanished object gave fn nothing: scanOnce lists again and goes on,
// skipping the objects it read and, in a merged file, the parts (the rows
// of one first-written file, named in the footer) it has already given,
// as Compact's merge drops parts (keepParts). Part names are unique within
// a partition.
func (l *Lake) scanOnce(ctx context.Context, objs []Object, opts ScanOptions, fn func(arrow.RecordBatch) error) error {
	readKeys := map[string]bool{} // objects read whole
	given := map[string]bool{}    // partition path + "/" + part name
	var lastGone string
	for listing := 1; ; listing++ {
		if listing > MaxListings {
			return fmt.Errorf("%w: %d listings in a row found objects deleted before they could be read (last %s): is a compaction running in a loop? Run again later",
				ErrLakeChanging, MaxListings, lastGone)
		}
		if objs == nil || listing > 1 {
			var err error
			if objs, err = l.Objects(ctx, opts.Filter); err != nil {
				return err
			}
		}
		if opts.Listed != nil {
			if err := opts.Listed(objs); err != nil {
				return err
			}
		}
		gone := false
		for _, o := range objs {
			if readKeys[o.Key] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			err := l.readObjectOnce(ctx, o, opts, given, fn)
			if errors.Is(err, ErrNotExist) {
				gone, lastGone = true, o.Key
				break // list again: a merged file holds its rows now
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", o.Key, err)
			}
			readKeys[o.Key] = true
		}
		if !gone {
			return nil
		}
	}
}

// readObjectOnce reads the columns opts select of o, minus the parts given
// names (keys partition/name), and adds o's parts to given. An object
// that is gone is an error wrapping ErrNotExist, before fn saw any of it.
func (l *Lake) readObjectOnce(ctx context.Context, o Object, opts ScanOptions, given map[string]bool, fn func(arrow.RecordBatch) error) error {
	return l.withParquet(ctx, o.Key, func(pf *file.Reader) error { return l.readParts(ctx, pf, o, opts, given, fn) })
}

// readParts is readObjectOnce on the object's open file.
func (l *Lake) readParts(ctx context.Context, pf *file.Reader, o Object, opts ScanOptions, given map[string]bool, fn func(arrow.RecordBatch) error) error {
	dir := o.Partition.Path() + "/"
	ps, err := fileParts(pf, o.Name())
	if err != nil {
		return err
	}
	var keep [][2]int64 // row ranges [from, to) to give
	var off int64
	dropped := false
	for _, p := range ps {
		if given[dir+p.Name] {
			dropped = true
		} else if n := len(keep); n > 0 && keep[n-1][1] == off {
			keep[n-1][1] = off + p.Rows
		} else {
			keep = append(keep, [2]int64{off, off + p.Rows})
		}
		off += p.Rows
	}
	switch {
	case !dropped:
		err = readFileWith(ctx, pf, l.mem, opts, fn)
	case off != pf.NumRows():
		return fmt.Errorf("footer %s names %d rows, the file holds %d", partsKey, off, pf.NumRows())
	case len(keep) > 0:
		err = readFileWith(ctx, pf, l.mem, opts, rowRanges(keep, fn))
	}
	if err != nil {
		return err
	}
	for _, p := range ps {
		given[dir+p.Name] = true
	}
	return nil
}

// rowRanges returns a consumer of a file's batches, in order, that gives
// fn only the rows in ranges (sorted, disjoint [from, to) file rows).
func rowRanges(ranges [][2]int64, fn func(arrow.RecordBatch) error) func(arrow.RecordBatch) error {
	var base int64 // file row of the batch's first row
	return func(rec arrow.RecordBatch) error {
		n := rec.NumRows()
		defer func() { base += n }()
		for _, rg := range ranges {
			lo, hi := max(rg[0], base), min(rg[1], base+n)
			if lo >= hi {
				continue
			}
			if lo == base && hi == base+n {
				return fn(rec)
			}
			s := rec.NewSlice(lo-base, hi-base)
			err := fn(s)
			s.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}
}
