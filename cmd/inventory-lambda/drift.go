package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/declared"
	"github.com/flowq/flowq/internal/inventory/drift"
)

// metricsNamespace is the CloudWatch namespace of the function's metrics
// (the ingest Lambda's too).
const metricsNamespace = "flowq"

// publisher is the SNS call the drift alert makes (*sns.Client satisfies it).
type publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// driftReporter compares each new snapshot with the declared rules and
// reports the difference: a log line, the EMF metric DriftedRules, and an
// SNS alert for drift the previous snapshot did not have.
type driftReporter struct {
	topic   string // "" = no alert
	sns     publisher
	where   string // the deployment, for the alert's subject
	log     *slog.Logger
	metrics io.Writer // EMF lines (stdout in Lambda)
}

type driftResult struct {
	drifted, fresh int
	alerted        bool
}

// newDrift returns the sync's Declared option (read path with SSM) and the
// reporter.
func newDrift(cfg config, awsCfg aws.Config, log *slog.Logger) (func(context.Context, *inventory.Snapshot) (*inventory.Declaration, error), *driftReporter) {
	api := ssm.NewFromConfig(awsCfg)
	read := func(ctx context.Context, _ *inventory.Snapshot) (*inventory.Declaration, error) {
		return declared.Read(ctx, api, cfg.Declared, time.Now())
	}
	where := strings.TrimSuffix(strings.TrimPrefix(cfg.Declared, declared.Root+"/"), "/declared")
	return read, &driftReporter{topic: cfg.TopicARN, sns: sns.NewFromConfig(awsCfg), where: where, log: log, metrics: os.Stdout}
}

// report compares snap (not stored yet) with its declaration and the
// archive's newest snapshot with its own, and publishes what is new. When
// snap is unchanged since the newest stored snapshot (the same rules and
// the same declaration), that snapshot's drift is snap's: none is new, and
// nothing is read.
func (d *driftReporter) report(ctx context.Context, arch *inventory.Archive, snap *inventory.Snapshot, unchanged bool) (driftResult, error) {
	cur, err := drift.Of(snap)
	if err != nil {
		return driftResult{}, err
	}
	prev := cur
	if !unchanged {
		if prev, err = previous(ctx, arch); err != nil {
			return driftResult{}, err
		}
	}
	fresh := drift.New(prev, cur)
	res := driftResult{drifted: len(cur.Findings), fresh: len(fresh)}
	d.emit(res.drifted)
	rules := make([]string, len(cur.Findings))
	for i, f := range cur.Findings {
		rules[i] = f.String()
	}
	if !cur.Drifted() {
		d.log.Info("no drift", "security_groups", cur.Groups, "network_acls", cur.ACLs, "declared", cur.Declared)
		return res, nil
	}
	d.log.Warn("drift: rules differ from the declared ones", "drifted_rules", res.drifted, "new", res.fresh, "rules", rules, "declared", cur.Declared)
	if len(fresh) == 0 || d.topic == "" {
		return res, nil
	}
	subject, msg := drift.Alert(cur, fresh, d.where)
	if _, err := d.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(d.topic), Subject: aws.String(subject), Message: aws.String(msg)}); err != nil {
		return res, fmt.Errorf("publish drift alert: %w", err)
	}
	res.alerted = true
	d.log.Info("drift alert published", "topic", d.topic, "new", res.fresh)
	return res, nil
}

// lookBack bounds the snapshots previous reads to find one with declared
// rules.
const lookBack = 5

// previous is the drift of the newest stored snapshot that holds declared
// rules (one stored without them, after SSM failed, is passed over, so its
// drift is not announced again); none among the last lookBack: an empty
// report, so all drift is new.
func previous(ctx context.Context, arch *inventory.Archive) (drift.Report, error) {
	times := arch.Times()
	for i := len(times) - 1; i >= 0 && i >= len(times)-lookBack; i-- {
		x, err := arch.AsOf(ctx, times[i])
		if err != nil {
			return drift.Report{}, fmt.Errorf("previous snapshot: %w", err)
		}
		if r, err := drift.Of(x.Snap); err == nil {
			return r, nil
		}
	}
	return drift.Report{}, nil
}

// emit writes one CloudWatch embedded-metric-format line: DriftedRules.
func (d *driftReporter) emit(n int) {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace": metricsNamespace, "Dimensions": [][]string{{}},
				"Metrics": []any{map[string]string{"Name": "DriftedRules", "Unit": "Count"}},
			}},
		},
		"DriftedRules": n,
	}
	b, _ := json.Marshal(line)
	fmt.Fprintf(d.metrics, "%s\n", b)
}
