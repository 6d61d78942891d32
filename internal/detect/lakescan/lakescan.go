// Package lakescan runs the detectors over the lake's history: every
// record of a time range, partition after partition in time order, as the
// exfiltration windows' guarantee needs. flowq detect and flowq report both
// drive their detectors through Run.
package lakescan

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// Detectors are the detectors as Run drives them: *detect.Engine and
// *detect.Contextual.
type Detectors interface {
	Process(ctx context.Context, batchID string, rec arrow.RecordBatch) ([]detect.Alert, error)
	Ack(ctx context.Context, alerts []detect.Alert) error
}

// Options tune Run; the zero value is ready to use.
type Options struct {
	// Workers is how many partitions are decoded ahead in parallel
	// (default GOMAXPROCS). Decoding Parquet is most of the work; the
	// detectors run at several times its speed.
	Workers int
	// BatchPrefix names the batches given to Process (default "lakescan"):
	// the batch ids are BatchPrefix#1, #2, ...
	BatchPrefix string
	// Clock, if set, is moved to the end of each hour partition before its
	// records are detected (see Clock).
	Clock *Clock
}

// Clock is the lake's time during a Run: the end of the hour partition
// whose records are being detected. Detectors that read it as their clock,
// with a Retention of at least HistoryRetention, judge every record of the
// history (partitions come in time order, so no record is late) and forget
// each window once the scan has passed it: their state holds a few hours of
// windows, however long the history.
type Clock struct{ unix atomic.Int64 }

// Now returns the lake's time.
func (c *Clock) Now() time.Time { return time.Unix(c.unix.Load(), 0).UTC() }

// HistoryRetention is the least Retention that, with a Clock, judges every
// record: a partition's records start within the hour before its end.
const HistoryRetention = time.Hour

// Stats count what Run read and raised.
type Stats struct {
	Files  int // Parquet objects in the range
	Alerts int
}

// Run streams the lake's records whose start lies in tr (every record when
// tr is zero) through det, and hands each batch's alerts to send before
// acknowledging them. One process holds the detectors' state, so the
// caller builds them with no claim lease. Only the columns the detectors
// read are decoded (detect.Columns), strings as dictionaries.
func Run(ctx context.Context, lake *store.Lake, tr store.TimeRange, det Detectors, send func(context.Context, []detect.Alert) error, opts Options) (Stats, error) {
	strs, ints := detect.Columns()
	return run(ctx, lake, tr, det, send, opts, store.ScanOptions{Columns: append(strs, ints...), Dictionaries: true})
}

// run is Run reading what read selects of each file.
func run(ctx context.Context, lake *store.Lake, tr store.TimeRange, det Detectors, send func(context.Context, []detect.Alert) error, opts Options, read store.ScanOptions) (Stats, error) {
	var st Stats
	objs, err := lake.Objects(ctx, tr.Filter())
	if err != nil {
		return st, err
	}
	st.Files = len(objs)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	prefix := opts.BatchPrefix
	if prefix == "" {
		prefix = "lakescan"
	}
	batch := 0
	onPartition := func(p store.Partition) {
		if opts.Clock != nil {
			opts.Clock.unix.Store(p.Time().Add(time.Hour).Unix())
		}
	}
	err = scanInOrder(ctx, lake, objs, read, workers, onPartition, func(rec arrow.RecordBatch) error {
		rec, err := inRange(ctx, rec, tr)
		if err != nil {
			return err
		}
		defer rec.Release()
		batch++
		as, err := det.Process(ctx, prefix+"#"+strconv.Itoa(batch), rec)
		if err != nil || len(as) == 0 {
			return err
		}
		if err := send(ctx, as); err != nil {
			return err
		}
		st.Alerts += len(as)
		return det.Ack(ctx, as)
	})
	return st, err
}

// scanInOrder calls fn with every record of the objects' partitions, one
// partition after another in time order (onPartition first), while up to
// workers partitions are decoded ahead in parallel (store.Lake.ScanObjects,
// one partition each, over the objects listed, reading what read selects:
// only the detectors' columns, strings as dictionaries).
func scanInOrder(ctx context.Context, lake *store.Lake, objs []store.Object, read store.ScanOptions, workers int, onPartition func(store.Partition), fn func(arrow.RecordBatch) error) error {
	var parts []store.Partition
	var partObjs [][]store.Object // the listing, by partition: listed once
	for _, o := range objs {
		if len(parts) == 0 || parts[len(parts)-1] != o.Partition {
			parts = append(parts, o.Partition)
			partObjs = append(partObjs, nil)
		}
		partObjs[len(partObjs)-1] = append(partObjs[len(partObjs)-1], o)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		recs []arrow.RecordBatch
		err  error
		held bool // holds a slot of sem, freed when consumed
	}
	results := make([]chan result, len(parts))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	sem := make(chan struct{}, max(workers, 1))
	go func() {
		for i, p := range parts {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] <- result{err: ctx.Err()}
				continue
			}
			go func() {
				r := result{held: true}
				opts := read
				opts.Filter = func(q store.Partition) bool { return q == p }
				r.err = lake.ScanObjects(ctx, partObjs[i], opts, func(rec arrow.RecordBatch) error {
					rec.Retain()
					r.recs = append(r.recs, rec)
					return nil
				})
				results[i] <- r
			}()
		}
	}()
	var err error
	for i := range parts {
		r := <-results[i]
		if r.held {
			<-sem
		}
		if err == nil {
			err = r.err
		}
		if err == nil {
			onPartition(parts[i])
		}
		for _, rec := range r.recs {
			if err == nil {
				err = fn(rec)
			}
			rec.Release()
		}
		if err != nil {
			cancel()
		}
	}
	return err
}

// inRange returns the rows of rec whose start lies in tr (partitions are
// whole hours; the range need not be), retained: the caller releases it.
func inRange(ctx context.Context, rec arrow.RecordBatch, tr store.TimeRange) (arrow.RecordBatch, error) {
	idx := rec.Schema().FieldIndices(parse.ColStart)
	if tr.IsZero() || len(idx) == 0 {
		rec.Retain()
		return rec, nil
	}
	starts, ok := rec.Column(idx[0]).(*array.Int64)
	if !ok {
		return nil, fmt.Errorf("lake column %s: type %s, want int64", parse.ColStart, rec.Column(idx[0]).DataType())
	}
	n := starts.Len()
	mask := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer mask.Release()
	mask.Reserve(n)
	all := true
	for i := range n {
		in := starts.IsValid(i) && tr.Contains(starts.Value(i))
		all = all && in
		mask.UnsafeAppend(in)
	}
	if all {
		rec.Retain()
		return rec, nil
	}
	m := mask.NewBooleanArray()
	defer m.Release()
	return compute.FilterRecordBatch(ctx, rec, m, compute.DefaultFilterOptions())
}
