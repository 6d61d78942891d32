// Command ingest-lambda is the AWS Lambda that ingests flow logs: invoked
// on a schedule, it collects the objects AWS delivered to S3 since its last
// run (internal/collect); subscribed to the flow-log group, it takes
// CloudWatch Logs payloads as they come; notified of delivered objects, it
// reads each. It is
// wiring: it reads its configuration from the environment once, builds the
// lake, detector state and alert sink, unwraps each event and hands the
// flow-log text to the pipeline that flowq demo uses too.
//
// Built with cgo off for linux/arm64 provided.al2023 (make lambda); it never
// links DuckDB.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/flowq/flowq/internal/detectconfig"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/cwlogs"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory/ec2query"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/pipeline"
	"github.com/flowq/flowq/internal/store"
)

func main() {
	// JSON, with the request id of each invocation.
	log := newLogger(os.Getenv, os.Stdout)
	setMemoryLimit(os.Getenv)
	h, err := initHandler(context.Background(), os.Getenv, log, os.Stdout)
	if err != nil {
		// An init error: Lambda reports it and every invocation fails.
		log.Error("ingest-lambda cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// setMemoryLimit tells the Go collector the function's memory size (less
// room for the runtime and the binary), unless GOMEMLIMIT is set, so a big
// batch makes it collect sooner rather than run out of memory.
func setMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 {
		return
	}
	debug.SetMemoryLimit(mb << 20 * 8 / 10)
}

// initHandler is the function's init phase: configuration, AWS clients,
// the pipeline.
func initHandler(ctx context.Context, getenv func(string) string, log *slog.Logger, metrics io.Writer) (*handler, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// LoadDefaultConfig honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_S3
	// and friends), so the same binary runs against moto_server.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return newHandler(ctx, cfg, awsCfg, log, metrics)
}

// newHandler builds the handler from a validated configuration.
func newHandler(ctx context.Context, cfg config, awsCfg aws.Config, log *slog.Logger, metrics io.Writer) (*handler, error) {
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// Emulators (moto, MinIO) serve buckets by path, not by host name.
		o.UsePathStyle = awsCfg.BaseEndpoint != nil
		// Objects without checksums are normal (older uploads, emulators):
		// no log line for each.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	lake, err := store.Open(ctx, cfg.Lake, store.Options{S3: s3c})
	if err != nil {
		return nil, err
	}
	// With the lake's inventory (internal/inventory/resolve): alerts name
	// their resources (at most one EC2 call per interface the snapshots
	// lack), NAT legs are left out, the policy detector runs.
	// One resolver for both paths: one copy of the snapshots, one EC2
	// lookup per new interface.
	res := resolve.Open(lake, 0, resolve.Options{Logger: log, Refresh: cfg.InventoryRefresh, Lookup: ec2query.New(awsCfg).Lookup})
	eng, err := res.Contextual(cfg.Detect, newState(cfg, awsCfg), time.Now, detect.WithLogger(log))
	if err != nil {
		return nil, err
	}
	coll, err := newCollector(cfg, awsCfg, s3c, lake, res, log)
	if err != nil {
		return nil, err
	}
	pipe, err := pipeline.New(pipeline.Config{Format: cfg.Format, Lake: lake, Detector: eng, Sink: newSink(cfg, awsCfg, log), Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("ingest-lambda ready", "lake", cfg.Lake, "state", stateName(cfg), "alerts", sinkName(cfg),
		"watch", fmt.Sprint(cfg.Detect.Watch), "exfil_bytes", cfg.Detect.ExfilBytes, "exfil_budgets", len(cfg.Detect.ExfilBudgets),
		"window", cfg.Detect.Window.String(), "retention", cfg.Detect.Retention.String(), "detectors", fmt.Sprint(enabledDetectors(&cfg.Detect)),
		"delivery", cfg.Delivery, "collect_interval", cfg.CollectInterval.String(), "settle", cfg.Settle.String())
	return &handler{
		pipe: pipe, s3: s3c, format: cfg.Format, log: log, metrics: metrics, maxBytes: cfg.MaxPayloadBytes, detector: eng.Engine(),
		dec:       cwlogs.NewDecoder(cwlogs.Options{MaxBytes: cfg.MaxPayloadBytes}),
		collector: coll, resolver: res,
	}, nil
}

func stateName(cfg config) string {
	if cfg.StateTable == "" {
		return "memory"
	}
	return "dynamodb:" + cfg.StateTable
}

func sinkName(cfg config) string {
	if cfg.TopicARN == "" {
		return "log"
	}
	return cfg.TopicARN
}

// enabledDetectors names the detectors that run (an empty list in the
// configuration means all of them).
func enabledDetectors(c *detectconfig.Config) []string {
	var on []string
	for _, d := range detectconfig.Detectors() {
		if c.Enabled(d) {
			on = append(on, d)
		}
	}
	return on
}
