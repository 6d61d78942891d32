package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/source"
)

// Reasons an input is skipped (InputResult.Skipped).
const SkipStored = "already stored"

// IngestMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// a process that ingests should set unless the user set GOMEMLIMIT: the lake
// holds a chunk of each source (store.DefaultChunkRows records) and the
// garbage collector would otherwise let the heap grow to twice that. With
// it, peak RSS stays under 150 MB whatever the input's size
// (BenchmarkIngestRSS).
const IngestMemoryLimit = 100 << 20

// InputOptions configure Ingest.
type InputOptions struct {
	// Read options for every input (Format, OnBadLine, Progress...). The
	// Pipeline's BatchSize and Allocator apply when these are unset.
	Read source.ReadOptions
	// Workers is how many inputs are stored at once (default 1). Inputs
	// are independent (such as CloudWatch Logs streams); OnBadLine and
	// Progress must then be safe for concurrent use.
	Workers int
}

// InputResult is what storing one input did.
type InputResult struct {
	Info    source.Info
	Stats   source.Stats
	Skipped string         // SkipStored, or "" when stored
	Alerts  []detect.Alert // with a Detector
	Err     error          // the input was rejected: nothing of it stored
	Time    time.Duration

	Objects   int   // lake objects the input's commit wrote
	LakeBytes int64 // their size
}

// Ingest stores each input once, in bounded memory: its records stream
// from the source to the lake and become visible when the whole input has
// been read; an input that fails (not flow logs, cut short, the lake's
// error) is aborted and leaves nothing, and the others go on. An input
// whose identity is already stored is skipped. With a Detector, a stored
// input's records are then read again and detected, so the detectors see
// exactly what the lake holds. fn is called once per input, in the order
// of inputs. The error is the context's, or fn's.
func (p *Pipeline) Ingest(ctx context.Context, inputs []*source.Input, opts InputOptions, fn func(InputResult) error) error {
	if p.cfg.Sources == nil {
		return errors.New("pipeline: no source lake")
	}
	if opts.Read.BatchSize == 0 {
		opts.Read.BatchSize = p.cfg.BatchSize
	}
	if opts.Read.Allocator == nil {
		opts.Read.Allocator = p.cfg.Allocator
	}
	workers := max(opts.Workers, 1)
	results := make([]chan InputResult, len(inputs))
	for i := range results {
		results[i] = make(chan InputResult, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(inputs)) {
		wg.Go(func() {
			for i := range next {
				results[i] <- p.input(ctx, inputs[i], opts.Read)
			}
		})
	}
	go func() {
		defer close(next)
		for i := range inputs {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range inputs {
		var res InputResult
		select {
		case res = <-results[i]:
		case <-ctx.Done():
		}
		if err = ctx.Err(); err != nil {
			break
		}
		if err = fn(res); err != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	return err
}

// input stores one input.
func (p *Pipeline) input(ctx context.Context, in *source.Input, ro source.ReadOptions) (res InputResult) {
	start := time.Now()
	defer func() { res.Time = time.Since(start) }()
	info, err := in.Identify(ctx)
	res.Info = info
	if err != nil {
		res.Err = err
		return res
	}
	w, err := p.cfg.Sources.Begin(ctx, info)
	if errors.Is(err, ErrSourceExists) {
		res.Skipped = SkipStored
		return res
	}
	if err != nil {
		res.Err = &Error{Stage: StageStore, BatchID: info.ID, Err: err}
		return res
	}
	res.Stats, err = readInto(ctx, in, ro, w)
	if err != nil && !isInputErr(err) {
		err = &Error{Stage: StageStore, BatchID: info.ID, Err: err}
	}
	if err == nil && res.Stats.Records == 0 {
		err = w.Abort(ctx) // nothing to store (blank, all lines rejected)
		res.Err = err
		return res
	}
	if err == nil {
		res.Objects, res.LakeBytes, err = w.Commit(ctx)
		if errors.Is(err, ErrSourceExists) { // stored meanwhile (the same content at two paths)
			res.Skipped, res.Stats = SkipStored, source.Stats{}
			return res
		}
		if err != nil {
			err = &Error{Stage: StageStore, BatchID: info.ID, Err: err}
		}
	}
	if err != nil {
		if aerr := w.Abort(context.WithoutCancel(ctx)); aerr != nil {
			err = errors.Join(err, aerr)
		}
		res.Err = err
		return res
	}
	if p.cfg.Detector != nil {
		res.Alerts, res.Err = p.detectInput(ctx, in, info, ro)
	}
	return res
}

// detectInput runs the stored input's records through the detectors and
// delivers the alerts. The batch ids derive from the input's identity, so
// ingesting it again (or retrying) does not count its records twice.
func (p *Pipeline) detectInput(ctx context.Context, in *source.Input, info source.Info, ro source.ReadOptions) ([]detect.Alert, error) {
	// Rejected lines and progress were reported by the first read; the
	// detector and the sink see one input at a time.
	ro.OnBadLine, ro.OnWarning, ro.Progress = nil, nil, nil
	p.detectMu.Lock()
	defer p.detectMu.Unlock()
	var alerts []detect.Alert
	i := 0
	_, err := in.Read(ctx, ro, func(rec arrow.RecordBatch) error {
		a, err := p.cfg.Detector.Process(ctx, partID(info.ID, i), rec)
		i++
		if err != nil {
			return &Error{Stage: StageDetect, BatchID: info.ID, Err: err}
		}
		alerts = append(alerts, a...)
		return nil
	})
	if err != nil || len(alerts) == 0 {
		return alerts, err
	}
	if p.cfg.Sink != nil {
		if err := p.cfg.Sink.Send(ctx, alerts); err != nil {
			return alerts, &Error{Stage: StageAlert, BatchID: info.ID, Err: err}
		}
	}
	if err := p.cfg.Detector.Ack(ctx, alerts); err != nil {
		return alerts, &Error{Stage: StageAlert, BatchID: info.ID, Err: err}
	}
	return alerts, nil
}

// overlapBatches is how many parsed batches wait for the lake's writer:
// reading the next records overlaps staging the previous chunk (on two
// cores, ingest 285 → 350 MB/s in BenchmarkIngest) for a few MB more
// memory (BenchmarkIngestRSS).
const overlapBatches = 8

// readInto streams the input's records to w, reading in this goroutine and
// writing in another. The error is the read's (a *source.Error, the
// context's) or the write's.
func readInto(ctx context.Context, in *source.Input, ro source.ReadOptions, w SourceWriter) (source.Stats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	recs := make(chan arrow.RecordBatch, overlapBatches)
	done := make(chan error, 1)
	go func() {
		var err error
		for rec := range recs {
			if err == nil {
				if err = w.Write(ctx, rec); err != nil {
					cancel(err) // stops the reader
				}
			}
			rec.Release()
		}
		done <- err
	}()
	st, err := in.Read(ctx, ro, func(rec arrow.RecordBatch) error {
		rec.Retain()
		select {
		case recs <- rec:
			return nil
		case <-ctx.Done():
			rec.Release()
			return context.Cause(ctx)
		}
	})
	close(recs)
	if werr := <-done; werr != nil {
		return st, werr
	}
	return st, err
}

// isInputErr tells the input's own failures (not flow logs, cut short, the
// context's end) from the lake's.
func isInputErr(err error) bool {
	var se *source.Error
	return errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
