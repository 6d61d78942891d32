// Package pipeline is the one ingest path that the Lambda and flowq demo
// share: flow-log text → parse → store (Parquet to the lake) → detect → alert,
// with counters and timings for every stage.
//
// A batch is identified by a deterministic id (for CloudWatch Logs: log group,
// log stream and first event id), so a retried batch rewrites the same lake
// objects and replays the same detector state: processing it again converges
// to the same lake and the same alerts.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/store"
)

// Lake stores record batches under a batch id (*store.Lake). Writing the
// same batch id again must replace, not add.
type Lake interface {
	Write(ctx context.Context, batchID string, recs []arrow.RecordBatch) (store.WriteResult, error)
}

// Detector turns record batches into alerts (*detect.Engine). It must be
// replay-safe: a batch id counts once, and an alert handed out but not
// acknowledged is handed out again, with the same id, to the same batch id.
type Detector interface {
	Process(ctx context.Context, batchID string, rec arrow.RecordBatch) ([]detect.Alert, error)
	// Ack marks delivered alerts as sent, never to be handed out again.
	Ack(ctx context.Context, alerts []detect.Alert) error
}

// Sink delivers alerts (alert.Sink).
type Sink interface {
	Send(ctx context.Context, alerts []detect.Alert) error
}

// DefaultBadLineSamples is how many rejected lines a batch keeps and logs.
const DefaultBadLineSamples = 5

// Stage names a pipeline step in errors.
type Stage string

// Stages, in order.
const (
	StageParse  Stage = "parse"
	StageStore  Stage = "store"
	StageDetect Stage = "detect"
	StageAlert  Stage = "alert"
)

// Error is a failed stage. Every such failure is worth a retry by the
// caller: the batch's id makes the retry converge.
type Error struct {
	Stage   Stage
	BatchID string
	Err     error
}

func (e *Error) Error() string {
	return "batch " + e.BatchID + ": " + string(e.Stage) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Config configures a Pipeline.
type Config struct {
	// Format of the flow-log text (nil: AWS's default version 2 format). A
	// Batch may override it; header lines in the text replace it.
	Format *parse.Format
	// Lake receives every parsed record of Process. Lake or Sources is
	// required.
	Lake Lake
	// Sources stores whole inputs for Ingest (store.Lake's sources, or
	// WriteSources(Lake)).
	Sources SourceLake
	// Detector finds incidents; nil skips detection.
	Detector Detector
	// Sink delivers the alerts; nil keeps them in Result only.
	Sink Sink
	// Logger for per-batch warnings (rejected-line samples); nil discards.
	Logger *slog.Logger
	// BadLineSamples is how many rejected lines a batch keeps and logs
	// (default DefaultBadLineSamples; negative: none).
	BadLineSamples int
	// BatchSize is the most records per Arrow batch (default parse's). The
	// detector keys its replay protection on (batch id, index of the Arrow
	// batch), so keep it fixed across deployments: a batch retried across a
	// change of BatchSize could be counted twice.
	BatchSize int
	// Allocator for the parsed Arrow buffers (default: a parse.Pool of the
	// Pipeline's own, so a warm Lambda reuses them batch after batch).
	Allocator memory.Allocator
}

// Validate reports a missing or contradictory setting.
func (c *Config) Validate() error {
	if c.Lake == nil && c.Sources == nil {
		return errors.New("pipeline: no lake")
	}
	return nil
}

// Pipeline processes batches. It is safe for concurrent use if its Lake,
// Detector and Sink are.
type Pipeline struct {
	cfg Config
	log *slog.Logger

	detectMu sync.Mutex // Ingest's workers detect one input at a time
}

// New returns a Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Format == nil {
		cfg.Format = parse.DefaultFormat()
	}
	if l, ok := cfg.Lake.(*store.Lake); ok && cfg.Sources == nil {
		cfg.Sources = LakeSources(l) // the lake stores whole sources too
	}
	if cfg.BadLineSamples == 0 {
		cfg.BadLineSamples = DefaultBadLineSamples
	}
	if cfg.Allocator == nil {
		cfg.Allocator = parse.NewPool()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{cfg: cfg, log: log}, nil
}

// Batch is one unit of ingestion.
type Batch struct {
	// ID is the batch's deterministic identity; it names the lake objects
	// and keys the detector's replay protection. Required.
	ID string
	// Source names the input in logs and rejected-line errors, such as
	// "logGroup/logStream" or "s3://bucket/key".
	Source string
	// Format overrides Config.Format for this batch.
	Format *parse.Format
	// Text is flow-log text, one record per line.
	Text []byte
	// Records, when set, are used instead of parsing Text (flow logs AWS
	// delivers as Parquet). The caller keeps ownership.
	Records []arrow.RecordBatch
	// Locate, if set, names where a line of Text came from (such as the
	// CloudWatch Logs event id) for rejected-line samples.
	Locate func(line int64) string
}

// Result is what one batch did.
type Result struct {
	BatchID    string
	Records    int64       // records stored
	BadLines   int64       // rejected lines, skipped
	BadSamples []string    // the first rejected lines' errors
	Bytes      int64       // flow-log text bytes read
	Stats      parse.Stats // the parser's counters
	Alerts     []detect.Alert
	Objects    []string // lake objects written
	LakeBytes  int64    // bytes written to the lake
	Skipped    string   // why nothing was done ("" if it was), see CloudWatch

	ParseTime, StoreTime, DetectTime, AlertTime, Duration time.Duration
}

// Process runs one batch through parse → store → detect → alert, then
// acknowledges the delivered alerts to the detector. Rejected
// lines are counted, sampled and skipped; a failure of the lake, detector
// state or sink, or the context's end, returns an *Error so the caller
// retries the whole batch.
func (p *Pipeline) Process(ctx context.Context, b Batch) (res Result, err error) {
	start := time.Now()
	res.BatchID = b.ID
	defer func() { res.Duration = time.Since(start) }()
	fail := func(st Stage, err error) (Result, error) {
		return res, &Error{Stage: st, BatchID: b.ID, Err: err}
	}
	if b.ID == "" {
		return fail(StageParse, errors.New("batch has no id"))
	}
	if p.cfg.Lake == nil {
		return fail(StageStore, errors.New("pipeline: no batch lake (Config.Lake)"))
	}
	if err := ctx.Err(); err != nil {
		return fail(StageParse, err)
	}

	recs := b.Records
	if recs == nil {
		recs = p.parse(ctx, b, &res)
		defer func() {
			for _, r := range recs {
				r.Release()
			}
		}()
	} else {
		for _, r := range recs {
			res.Records += r.NumRows()
		}
	}
	res.ParseTime = time.Since(start)
	if res.Records == 0 {
		return res, nil
	}

	t := time.Now()
	if err := ctx.Err(); err != nil {
		return fail(StageStore, err)
	}
	wr, err := p.cfg.Lake.Write(ctx, b.ID, recs)
	res.StoreTime = time.Since(t)
	if err != nil {
		return fail(StageStore, err)
	}
	res.Objects, res.LakeBytes = wr.Objects, wr.Bytes

	if p.cfg.Detector != nil {
		t = time.Now()
		for i, rec := range recs {
			if err := ctx.Err(); err != nil {
				return fail(StageDetect, err)
			}
			alerts, err := p.cfg.Detector.Process(ctx, partID(b.ID, i), rec)
			if err != nil {
				return fail(StageDetect, err)
			}
			res.Alerts = append(res.Alerts, alerts...)
		}
		res.DetectTime = time.Since(t)
	}

	if len(res.Alerts) > 0 {
		t = time.Now()
		if err := ctx.Err(); err != nil {
			return fail(StageAlert, err)
		}
		if p.cfg.Sink != nil {
			if err := p.cfg.Sink.Send(ctx, res.Alerts); err != nil {
				res.AlertTime = time.Since(t)
				return fail(StageAlert, err)
			}
		}
		// Delivered (or handed to the caller): never hand them out again.
		err := p.cfg.Detector.Ack(ctx, res.Alerts)
		res.AlertTime = time.Since(t)
		if err != nil {
			return fail(StageAlert, fmt.Errorf("acknowledge alerts: %w", err))
		}
	}
	return res, nil
}

// partID is the detector's id for the i-th record batch of a batch.
func partID(id string, i int) string {
	if i == 0 {
		return id
	}
	return id + "#" + strconv.Itoa(i)
}

// parse reads b.Text into retained record batches and fills res's counters.
func (p *Pipeline) parse(ctx context.Context, b Batch, res *Result) []arrow.RecordBatch {
	fm := b.Format
	if fm == nil {
		fm = p.cfg.Format
	}
	onBad := func(e *parse.LineError) {
		if len(res.BadSamples) >= p.cfg.BadLineSamples {
			return
		}
		msg := e.Error()
		if b.Locate != nil {
			if at := b.Locate(e.Line); at != "" {
				msg += " [" + at + "]"
			}
		}
		res.BadSamples = append(res.BadSamples, msg)
	}
	r := parse.NewBytesReader(b.Text, parse.Options{Format: fm, Name: b.Source, BatchSize: p.cfg.BatchSize,
		Allocator: p.cfg.Allocator, OnBadLine: onBad})
	recs, _ := r.ReadAll() // in-memory input: no I/O error
	r.Release()
	st := r.Stats()
	res.Stats = st
	res.Records, res.BadLines, res.Bytes = st.Records, st.BadLines, st.Bytes
	if st.BadLines > 0 {
		p.log.WarnContext(ctx, "rejected flow-log lines", "batch", b.ID, "source", b.Source,
			"bad_lines", st.BadLines, "by_reason", st.BadByReason(), "samples", res.BadSamples)
	}
	return recs
}

// String summarises a result for logs and the demo.
func (r Result) String() string {
	return fmt.Sprintf("%d records, %d bad lines, %d bytes, %d alerts, %d objects in %v",
		r.Records, r.BadLines, r.Bytes, len(r.Alerts), len(r.Objects), r.Duration.Round(time.Millisecond))
}
