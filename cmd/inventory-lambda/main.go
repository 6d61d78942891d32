// Command inventory-lambda keeps the lake's inventory snapshot fresh: an
// EventBridge schedule invokes it, it reads the VPC's network configuration
// through the EC2 API (internal/inventory/ec2sync) and stores the snapshot in
// the lake beside the flow partitions, where the ingest Lambda and flowq
// read it, unless the network is unchanged since the newest stored snapshot
// (then it writes nothing: a steady run's only S3 request is the GET of the
// archive's catalog). It is wiring; the logic is in internal/inventory.
//
// Environment: FLOWQ_LAKE (s3://bucket/prefix, required), FLOWQ_VPC_ID (only
// this VPC; empty: every VPC of the region), FLOWQ_DECLARED_PATH (the SSM path
// where the deployment publishes its declared rules, /flowq/<app>/declared;
// empty: no drift report), FLOWQ_ALERT_TOPIC_ARN (where new drift is
// announced; empty: logged only), and the region from AWS_REGION. An error
// fails the invocation, so the function's errors alarm sees it.
//
// With declared rules, every run reports drift (drift.go): a log line with
// the differing rules, the EMF metric DriftedRules, and an SNS alert when the
// drift is new since the previous snapshot.
//
// Built with cgo off for linux/arm64 provided.al2023, like the ingest Lambda.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/ec2sync"
	"github.com/flowq/flowq/internal/store"
)

// Environment variables the function reads, once, at init.
const (
	envLake     = "FLOWQ_LAKE"            // s3://bucket/prefix (required)
	envVPCID    = "FLOWQ_VPC_ID"          // only this VPC ("" = every VPC of the region)
	envDeclared = "FLOWQ_DECLARED_PATH"   // /flowq/<app>/declared ("" = no drift report)
	envTopic    = "FLOWQ_ALERT_TOPIC_ARN" // new drift is published here ("" = logged only)
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("inventory-lambda cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// config is the function's whole configuration.
type config struct {
	Lake     string // s3://bucket/prefix
	VPCID    string
	Declared string // SSM path
	TopicARN string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{Lake: strings.TrimSpace(getenv(envLake)), VPCID: strings.TrimSpace(getenv(envVPCID)),
		Declared: strings.TrimSpace(getenv(envDeclared)), TopicARN: strings.TrimSpace(getenv(envTopic))}
	return c, c.Validate()
}

// Validate reports every problem of the configuration at once.
func (c config) Validate() error {
	var errs []error
	if c.Lake == "" {
		errs = append(errs, fmt.Errorf("%s: required (s3://bucket/prefix)", envLake))
	} else if !strings.HasPrefix(c.Lake, "s3://") {
		errs = append(errs, fmt.Errorf("%s %q: want s3://bucket/prefix", envLake, c.Lake))
	}
	if err := (ec2sync.Options{VPCID: c.VPCID}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", envVPCID, err))
	}
	if c.Declared != "" && !strings.HasPrefix(c.Declared, "/") {
		errs = append(errs, fmt.Errorf("%s %q: want an SSM path such as /flowq/tradai/declared", envDeclared, c.Declared))
	}
	if c.TopicARN != "" && !strings.HasPrefix(c.TopicARN, "arn:") {
		errs = append(errs, fmt.Errorf("%s %q: want an SNS topic ARN", envTopic, c.TopicARN))
	}
	return errors.Join(errs...)
}

// handler syncs the inventory once per invocation.
type handler struct {
	ec2      *ec2.Client
	lake     *store.Lake
	region   string
	vpcID    string
	log      *slog.Logger
	drift    *driftReporter // nil without FLOWQ_DECLARED_PATH
	declared func(context.Context, *inventory.Snapshot) (*inventory.Declaration, error)
}

// Result is what an invocation returns (and logs).
type Result struct {
	// Snapshot is the stored snapshot in force (its object's name under
	// the lake's _flowq/meta/): the one this run stored, or, when the
	// network had not changed (Stored false), the newest one.
	Snapshot   string `json:"snapshot"`
	Stored     bool   `json:"stored"`
	Taken      string `json:"taken"` // when this run read the network
	Summary    string `json:"summary"`
	Interfaces int    `json:"interfaces"`
	Millis     int64  `json:"millis"`
	// With declared rules: the rules that differ, those new since the
	// previous snapshot, and whether an alert went out.
	DriftedRules int  `json:"drifted_rules"`
	NewDrift     int  `json:"new_drift"`
	Alerted      bool `json:"alerted,omitempty"`
}

// newHandler reads the configuration and builds the clients once (init).
func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (*handler, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// LoadDefaultConfig honours AWS_ENDPOINT_URL, so the same binary runs
	// against moto_server.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return newHandlerWith(ctx, cfg, awsCfg, log)
}

// newHandlerWith builds the clients from awsCfg (tests add middleware).
func newHandlerWith(ctx context.Context, cfg config, awsCfg aws.Config, log *slog.Logger) (*handler, error) {
	if awsCfg.Region == "" {
		return nil, errors.New("configuration: no AWS region (AWS_REGION is unset)")
	}
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// Emulators (moto, MinIO) serve buckets by path, not by host name.
		o.UsePathStyle = awsCfg.BaseEndpoint != nil
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	lake, err := store.Open(ctx, cfg.Lake, store.Options{S3: s3c})
	if err != nil {
		return nil, err
	}
	log.Info("inventory-lambda ready", "lake", cfg.Lake, "region", awsCfg.Region, "vpc", orDefault(cfg.VPCID, "every VPC"),
		"declared", orDefault(cfg.Declared, "none (no drift report)"), "alerts", orDefault(cfg.TopicARN, "log only"))
	h := &handler{ec2: ec2.NewFromConfig(awsCfg), lake: lake, region: awsCfg.Region, vpcID: cfg.VPCID, log: log}
	if cfg.Declared != "" {
		h.declared, h.drift = newDrift(cfg, awsCfg, log)
	}
	return h, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Invoke is the Lambda entry point (lambda.Handler): the payload is
// EventBridge's scheduled event. A direct method rather than a reflected
// function, so that infra's TestLeastPrivilege sees every AWS call it makes.
func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("scheduled event: %w", err)
	}
	res, err := h.handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// handle is one scheduled run: sync the VPC, save the snapshot unless the
// network is unchanged since the newest stored one (then that one stays in
// force and nothing is written). Any error is returned, so the invocation
// fails (and the errors alarm counts it).
//
// With declared rules, new drift is published before the snapshot is
// stored: if the alert cannot go out, nothing is stored and the retry (or
// the next run) compares against the same previous snapshot and tries again,
// so new drift is announced at least once, and not again while it lasts.
func (h *handler) handle(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	start := time.Now()
	fail := func(err error) (Result, error) {
		h.log.Error("inventory sync failed", "event", ev.ID, "err", err)
		return Result{}, fmt.Errorf("inventory sync: %w", err)
	}
	arch, err := inventory.OpenArchive(ctx, h.lake, 1)
	if err != nil {
		return fail(err)
	}
	// Declared rules that cannot be read (SSM down, a malformed parameter)
	// cost the drift report, not the snapshot: it is stored without them,
	// and the invocation fails afterwards so the errors alarm sees it.
	snap, err := ec2sync.Sync(ctx, h.ec2, ec2sync.Options{Region: h.region, VPCID: h.vpcID, Logger: h.log, Declared: h.declared})
	declErr := err
	if err != nil && !errors.Is(err, ec2sync.ErrDeclared) {
		return fail(err)
	}
	st, same, err := arch.Unchanged(&snap)
	if err != nil {
		return fail(err)
	}
	var dr driftResult
	if h.drift != nil && declErr == nil {
		if dr, err = h.drift.report(ctx, arch, &snap, same); err != nil {
			return fail(err)
		}
	}
	if !same {
		if st, err = arch.Save(ctx, &snap); err != nil {
			return fail(err)
		}
	}
	if declErr != nil {
		if same {
			return fail(fmt.Errorf("unchanged since snapshot %s, stored without declared rules: %w", st.Name, declErr))
		}
		return fail(fmt.Errorf("snapshot %s stored without declared rules: %w", st.Name, declErr))
	}
	res := resultOf(&snap, st, !same, time.Since(start))
	res.DriftedRules, res.NewDrift, res.Alerted = dr.drifted, dr.fresh, dr.alerted
	if same {
		h.log.Info("inventory unchanged", "event", ev.ID, "scheduled", ev.Time.Format(time.RFC3339), "snapshot", res.Snapshot,
			"since", st.Taken.Format(time.RFC3339), "summary", res.Summary, "interfaces", res.Interfaces, "ms", res.Millis)
	} else {
		h.log.Info("inventory stored", "event", ev.ID, "scheduled", ev.Time.Format(time.RFC3339), "snapshot", res.Snapshot,
			"summary", res.Summary, "interfaces", res.Interfaces, "ms", res.Millis)
	}
	return res, nil
}

func resultOf(s *inventory.Snapshot, st inventory.Stored, stored bool, took time.Duration) Result {
	return Result{Snapshot: st.Name, Stored: stored, Taken: s.Taken.UTC().Format(time.RFC3339Nano), Summary: s.Summary(),
		Interfaces: len(s.Interfaces), Millis: took.Milliseconds()}
}
