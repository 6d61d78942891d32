package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/collect"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/ddbstate"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/store"
)

// inputCollect is the EMF dimension of scheduled runs.
const inputCollect = "collect"

var errNoDelivery = errors.New("a scheduled collection, but " + envDelivery + " is not set: set it to the flow log's S3 destination (s3://bucket/prefix)")

// collector is the scheduled collector and its detectors' engine (for the
// late-record count).
type collector struct {
	run *collect.Collector
	eng interface{ Summary() detect.Summary }
}

// newCollector builds the collector when a delivery location is set (nil
// otherwise): its detectors keep their window counters in the collector's
// checkpoint and their alert claims in the state table (the ledger: only
// due alerts touch DynamoDB).
func newCollector(cfg config, awsCfg aws.Config, s3c *s3.Client, lake *store.Lake, res *resolve.Resolver, log *slog.Logger) (*collector, error) {
	if cfg.Delivery == "" {
		return nil, nil
	}
	bucket, prefix, err := collect.ParseDelivery(cfg.Delivery)
	if err != nil {
		return nil, err
	}
	if cfg.Detect.Retention == 0 {
		log.Warn("retention 0 keeps every detector key forever: the collector's checkpoint grows without bound; set retention in " + envConfig)
	}
	var claims collect.Claims
	if cfg.StateTable != "" {
		claims = ddbstate.NewLedger(dynamodb.NewFromConfig(awsCfg), cfg.StateTable, 0)
	}
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	st := collect.NewState(claims)
	eng, err := res.Contextual(cfg.Detect, st, now, detect.WithLogger(log))
	if err != nil {
		return nil, err
	}
	run, err := collect.New(collect.Config{Bucket: bucket, Prefix: prefix, Interval: cfg.CollectInterval, Settle: cfg.Settle,
		Lateness: cfg.Lateness, Objects: s3c, Meta: lake, Lake: lake, Detector: eng, State: st, Sink: newSink(cfg, awsCfg, log),
		Format: cfg.Format, Logger: log, Now: now})
	if err != nil {
		return nil, err
	}
	return &collector{run: run, eng: eng.Engine()}, nil
}

// isCollectEvent recognises EventBridge's scheduled event
// ({"source":"aws.events","detail-type":"Scheduled Event",...}) and an
// operator's {"flowq":"collect"}.
func isCollectEvent(payload []byte) bool {
	if !bytes.Contains(payload, []byte("aws.events")) && !bytes.Contains(payload, []byte("collect")) {
		return false
	}
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		FlowQ      string `json:"flowq"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return false
	}
	return (ev.Source == "aws.events" && ev.DetailType == "Scheduled Event") || ev.FlowQ == "collect"
}

// collect runs the collector once.
func (h *handler) collect(ctx context.Context, sum *summary) error {
	if h.collector == nil {
		return errNoDelivery
	}
	res, err := h.collector.run.Run(ctx)
	sum.Batches += res.Batches
	sum.Records += res.Records
	sum.BadLines += res.BadLines
	sum.Bytes += res.Bytes
	sum.Alerts += len(res.Alerts)
	sum.Objects += res.LakeObjects
	sum.LakeBytes += res.LakeBytes
	sum.Skipped += res.Skipped
	sum.Delivered += res.Objects
	sum.LateObjects += res.LateObjects
	sum.Waiting += res.Waiting
	sum.Slots += res.Slots
	sum.Checkpoint = res.Checkpoint
	sum.Held = res.Held
	if err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	return nil
}
