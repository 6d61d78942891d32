package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/source"
)

// Input kinds, the EMF dimension.
const (
	inputCloudWatch = "cloudwatch-logs"
	inputS3         = "s3"
)

var errUnknownEvent = errors.New("event is neither a scheduled collection ({\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\"} or {\"flowq\":\"collect\"}), a CloudWatch Logs subscription ({\"awslogs\":...}) nor an S3 notification ({\"Records\":...})")

// objectGetter is the part of the S3 client that reads flow-log objects.
type objectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// handler is the Lambda handler: it implements lambda.Handler, so it gets
// the raw event bytes and no generic JSON decode happens on the hot path.
type handler struct {
	pipe      *pipeline.Pipeline
	s3        objectGetter
	format    *parse.Format
	log       *slog.Logger
	metrics   io.Writer // EMF lines (stdout in Lambda)
	maxBytes  int64
	detector  interface{ Summary() detect.Summary } // for the late-record count; may be nil
	collector *collector                            // nil without a delivery location
	resolver  interface{ Stats() resolve.Stats }    // the EC2 lookups' counters; may be nil

	mu  sync.Mutex // Lambda runs one event at a time per instance; this guards the buffers if not
	dec *cwlogs.Decoder
}

// summary is the function's response: asynchronous invocations drop it,
// tests and the logs use it.
type summary struct {
	Input     string `json:"input"`
	Batches   int    `json:"batches"`
	Records   int64  `json:"records"`
	BadLines  int64  `json:"bad_lines"`
	Bytes     int64  `json:"bytes"`
	Alerts    int    `json:"alerts"`
	Objects   int    `json:"objects"`
	LakeBytes int64  `json:"lake_bytes"`
	Skipped   int    `json:"skipped,omitempty"` // control messages, empty batches, objects that are not flow logs
	Fallbacks int    `json:"json_fallbacks,omitempty"`
	Late      int64  `json:"late_records,omitempty"` // records older than the detectors' retention: stored, not judged
	// A scheduled collection: delivered objects read, of them objects
	// with records of a slot already done, objects left for a later run,
	// slots done, the checkpoint's size and the records it holds for the
	// next run (of the slot after the last done).
	Delivered   int   `json:"delivered_objects,omitempty"`
	LateObjects int   `json:"late_objects,omitempty"`
	Waiting     int   `json:"waiting_objects,omitempty"`
	Slots       int   `json:"slots,omitempty"`
	Checkpoint  int   `json:"checkpoint_bytes,omitempty"`
	Held        int64 `json:"held_records,omitempty"`
	// EC2 lookups of interfaces the inventory snapshots lack, and of
	// them the failed ones (the alerts then name addresses only).
	Lookups        int     `json:"inventory_lookups,omitempty"`
	LookupFailures int     `json:"inventory_lookup_failures,omitempty"`
	DurationMS     float64 `json:"duration_ms"`
}

func (s *summary) add(r pipeline.Result) {
	s.Batches++
	s.Records += r.Records
	s.BadLines += r.BadLines
	s.Bytes += r.Bytes
	s.Alerts += len(r.Alerts)
	s.Objects += len(r.Objects)
	s.LakeBytes += r.LakeBytes
}

// Invoke handles one event.
func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	start := time.Now()
	// Stop a little before Lambda's deadline, so a slow batch fails with a
	// logged error and its metrics rather than a bare timeout.
	if dl, ok := ctx.Deadline(); ok {
		margin := min(time.Until(dl)/10, time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	var sum summary
	var err error
	kind := eventKind(payload)
	det := h.detector
	if kind == inputCollect && h.collector != nil {
		det = h.collector.eng
	}
	var late0 int64
	if det != nil {
		late0 = det.Summary().Late
	}
	var look0 resolve.Stats
	if h.resolver != nil {
		look0 = h.resolver.Stats()
	}
	switch kind {
	case inputCollect:
		sum.Input = inputCollect
		err = h.collect(ctx, &sum)
	case inputCloudWatch:
		sum.Input = inputCloudWatch
		err = h.cloudWatch(ctx, payload, &sum)
	case inputS3:
		sum.Input = inputS3
		err = h.s3Event(ctx, payload, &sum)
	default:
		err = errUnknownEvent
	}
	if det != nil {
		sum.Late = det.Summary().Late - late0
	}
	if h.resolver != nil {
		look := h.resolver.Stats()
		sum.Lookups, sum.LookupFailures = look.Lookups-look0.Lookups, look.LookupFailures-look0.LookupFailures
	}
	sum.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	h.emitMetrics(ctx, &sum, err)
	attrs := []any{"input", sum.Input, "batches", sum.Batches, "records", sum.Records, "bad_lines", sum.BadLines,
		"bytes", sum.Bytes, "alerts", sum.Alerts, "objects", sum.Objects, "late_records", sum.Late, "duration_ms", sum.DurationMS}
	if sum.Lookups > 0 {
		attrs = append(attrs, "inventory_lookups", sum.Lookups, "inventory_lookup_failures", sum.LookupFailures)
	}
	if sum.Input == inputCollect {
		attrs = append(attrs, "delivered_objects", sum.Delivered, "late_objects", sum.LateObjects, "skipped", sum.Skipped,
			"waiting_objects", sum.Waiting, "slots", sum.Slots, "checkpoint_bytes", sum.Checkpoint, "held_records", sum.Held)
	}
	if err != nil {
		// Lambda retries the event, then sends it to the on-failure destination.
		h.log.ErrorContext(ctx, "event failed", append(attrs, "err", err)...)
		return nil, err
	}
	h.log.InfoContext(ctx, "event ingested", attrs...)
	return json.Marshal(sum)
}

// eventKind tells the two event shapes apart by their top-level keys.
func eventKind(payload []byte) string {
	// Fast path: the first key, as both producers write it.
	p := bytes.TrimLeft(payload, " \t\r\n")
	if len(p) > 0 && p[0] == '{' {
		p = bytes.TrimLeft(p[1:], " \t\r\n")
		switch {
		case bytes.HasPrefix(p, []byte(`"awslogs"`)):
			return inputCloudWatch
		case bytes.HasPrefix(p, []byte(`"Records"`)):
			return inputS3
		}
	}
	if isCollectEvent(payload) {
		return inputCollect
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(payload, &keys) != nil {
		return ""
	}
	if _, ok := keys["awslogs"]; ok {
		return inputCloudWatch
	}
	if _, ok := keys["Records"]; ok {
		return inputS3
	}
	return ""
}

func (h *handler) cloudWatch(ctx context.Context, payload []byte, sum *summary) error {
	d, err := h.dec.DecodeEvent(payload)
	if err != nil {
		return fmt.Errorf("decode CloudWatch Logs payload: %w", err)
	}
	if d.Fallback {
		sum.Fallbacks++
		h.log.WarnContext(ctx, "payload needed the encoding/json fallback", "log_group", d.LogGroup, "log_stream", d.LogStream)
	}
	res, err := h.pipe.CloudWatch(ctx, d)
	if res.Skipped != "" {
		sum.Skipped++
		h.log.InfoContext(ctx, res.Skipped+" skipped", "log_group", d.LogGroup, "log_stream", d.LogStream)
		return nil
	}
	sum.add(res)
	return err
}

// s3Event stores each new flow-log object the notification names, through
// the same source reader and pipeline as flowq ingest: its identity is
// AWS's object name (the ETag as digest), so a repeated notification adds
// nothing. An object that is not flow logs is logged and skipped; a failure
// to read it or store it fails the event, so Lambda retries.
func (h *handler) s3Event(ctx context.Context, payload []byte, sum *summary) error {
	var ev events.S3Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("decode S3 event: %w", err)
	}
	for _, r := range ev.Records {
		if err := ctx.Err(); err != nil {
			return err
		}
		obj := r.S3.Object
		key := obj.URLDecodedKey
		if key == "" {
			key = obj.Key
		}
		name := "s3://" + r.S3.Bucket.Name + "/" + key
		if !strings.HasPrefix(r.EventName, "ObjectCreated") {
			sum.Skipped++
			h.log.InfoContext(ctx, "not an ObjectCreated event, skipped", "event", r.EventName, "object", name)
			continue
		}
		in, ok := source.S3Object(h.s3, r.S3.Bucket.Name, key, obj.ETag, obj.Size, source.Filter{})
		if !ok {
			sum.Skipped++
			h.log.InfoContext(ctx, "not a flow-log object, skipped", "object", name)
			continue
		}
		err := h.pipe.Ingest(ctx, []*source.Input{in}, pipeline.InputOptions{Read: source.ReadOptions{Format: h.format}},
			func(res pipeline.InputResult) error { return h.s3Result(ctx, res, sum) })
		if err != nil {
			return err
		}
	}
	return nil
}

// s3Result accounts for one stored object; an object that is not flow logs
// is skipped, any other failure returned.
func (h *handler) s3Result(ctx context.Context, res pipeline.InputResult, sum *summary) error {
	switch {
	case res.Skipped != "":
		sum.Skipped++
		h.log.InfoContext(ctx, "object "+res.Skipped+", skipped", "object", res.Info.Name, "id", res.Info.ID)
		return nil
	case isContentError(res.Err):
		sum.Skipped++
		h.log.WarnContext(ctx, "object is not flow logs, skipped", "object", res.Info.Name, "err", res.Err)
		return nil
	case res.Err != nil:
		return res.Err
	}
	sum.Batches++
	sum.Records += res.Stats.Records
	sum.BadLines += res.Stats.BadLines
	sum.Bytes += res.Stats.Bytes
	sum.Alerts += len(res.Alerts)
	sum.Objects += res.Objects
	sum.LakeBytes += res.LakeBytes
	if res.Stats.BadLines > 0 {
		h.log.WarnContext(ctx, "rejected flow-log lines", "object", res.Info.Name, "bad_lines", res.Stats.BadLines,
			"by_reason", res.Stats.BadByReason())
	}
	return nil
}

// isContentError tells an object that is not flow logs (retrying cannot
// help) from a failure to read or store it.
func isContentError(err error) bool {
	return errors.Is(err, source.ErrBinary) || errors.Is(err, source.ErrNoStart) || errors.Is(err, source.ErrNotFlowLogs)
}
